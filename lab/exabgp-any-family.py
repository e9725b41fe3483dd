# ExaBGP 4.2 made into a hostile peer for the lab: it sends routes of every family it offered in its
# OPEN, even one the other side did not offer (RFC 4760 §7 says such routes must be ignored; the
# speaker under test must do so). Stock ExaBGP negotiates the common families and drops the rest
# before they reach the wire; this wrapper adds its own offered families back after negotiation, then
# runs ExaBGP's own entry point with the same arguments. Lab only: never used by the product.
import sys

from exabgp.bgp.message.open.capability import Capability
from exabgp.bgp.message.open.capability.negotiated import Negotiated

_negotiate = Negotiated._negotiate


def _every_offered_family(self):
    _negotiate(self)
    sent = self.sent_open.capabilities
    if sent.announced(Capability.CODE.MULTIPROTOCOL):
        for family in sent[Capability.CODE.MULTIPROTOCOL]:
            if family not in self.families:
                self.families.append(family)


Negotiated._negotiate = _every_offered_family

from exabgp.application import run_exabgp  # noqa: E402

sys.argv[0] = 'exabgp'
sys.exit(run_exabgp())
