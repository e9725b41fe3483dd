// The lab's management network (lab/addressing.ts: 192.0.2.128/26): a Linux bridge `br0` in its own
// namespace `<prefix>etcdnet`, the management station's address on the bridge itself, and one veth per
// attached namespace (bridge port `m-<name>`, far end `mgmt0`). Apart from the fabric: no router carries
// it and lab hosts do not forward. A port can be blocked (bridge port state disabled: every frame in or
// out dropped, carrier still up on both ends), which is a silent partition — TCP sees timeouts, not
// errors — of that namespace from everything else on the network, and unblocked again.

import { MGMT_PREFIX_V4, MGMT_STATION4 } from './addressing.js';
import { run } from './exec.js';
import { addAddress, createNamespace, createVeth, linkUp } from './netns.js';

const BRIDGE = 'br0';
/** The attached end's interface name in every namespace. */
export const MGMT_IF = 'mgmt0';
/** Bridge port states (bridge(8)): disabled drops every frame; forwarding is the normal state. */
const PORT_DISABLED = '0';
const PORT_FORWARDING = '3';
/** Interface names are at most 15 bytes (IFNAMSIZ - 1): `m-` and 13 more. */
const MAX_NAME = 13;

export class MgmtNet {
  /** The bridge's namespace (also where the management station runs its commands). */
  readonly ns: string;
  readonly #attached = new Map<string, string>();

  constructor(prefix: string) {
    this.ns = `${prefix}etcdnet`;
  }

  /** Create the namespace, the bridge and the station's address. */
  create(): void {
    createNamespace(this.ns);
    run('ip', ['-n', this.ns, 'link', 'add', BRIDGE, 'type', 'bridge']);
    addAddress(this.ns, BRIDGE, `${MGMT_STATION4}/${MGMT_PREFIX_V4}`);
    linkUp(this.ns, BRIDGE);
  }

  /** Attach namespace `ns` as `name` with `address` on its `mgmt0`. */
  attach(ns: string, name: string, address: string): void {
    if (name.length > MAX_NAME) throw new RangeError(`management port name too long: ${name}`);
    if (this.#attached.has(name)) throw new RangeError(`${name} is already on the management network`);
    const port = `m-${name}`;
    createVeth(this.ns, port, ns, MGMT_IF);
    run('ip', ['-n', this.ns, 'link', 'set', port, 'master', BRIDGE]);
    linkUp(this.ns, port);
    addAddress(ns, MGMT_IF, `${address}/${MGMT_PREFIX_V4}`);
    linkUp(ns, MGMT_IF);
    this.#attached.set(name, address);
  }

  /** Remove `name`'s veth (both ends go). */
  detach(name: string): void {
    run('ip', ['-n', this.ns, 'link', 'del', `m-${name}`]);
    this.#attached.delete(name);
  }

  /** The address `name` was attached with. */
  address(name: string): string | undefined {
    return this.#attached.get(name);
  }

  /** Block (true) or unblock `name`'s port: a silent partition of it from the rest of the network. */
  block(name: string, blocked: boolean): void {
    const state = blocked ? PORT_DISABLED : PORT_FORWARDING;
    // bridge(8), not `ip link … type bridge_slave state`: the latter is ignored without STP.
    run('bridge', ['-n', this.ns, 'link', 'set', 'dev', `m-${name}`, 'state', state]);
  }
}
