#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""syn-flood.py: the lab's bounded SYN generator (a test bed tool, not product).

Sends TCP SYNs (RFC 9293) with spoofed sources to one target through a raw IPv4 socket
(IP_HDRINCL, RFC 791 headers built here, checksums included), as fast as the kernel takes them, until
--count SYNs are sent or --seconds have passed. Run inside a lab namespace (it needs CAP_NET_RAW):
  ip netns exec <ns> /usr/bin/python3 lab/syn-flood.py --target 192.0.2.10 --port 8000 \
      --sources 203.0.113.64/26,198.51.100.16/28 --count 20000 --seconds 10
Bounded whatever it is asked: at most MAX_COUNT SYNs, MAX_SECONDS seconds, and only documentation
addresses (RFC 5737) as target and sources. Sources cycle through the given prefixes, the source port
through 1024..65535, so every SYN is a new flow. Prints one JSON line:
{"sent": n, "elapsed_ms": n, "errors": n, "first_error": "..."}.
"""
import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

MAX_COUNT = 200_000
MAX_SECONDS = 20.0
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
PORT_LO, PORT_HI = 1024, 65535
IPPROTO_TCP = 6
IPV4_HLEN = 20
TCP_HLEN = 20
TCP_SYN = 0x02
TTL = 64
WINDOW = 64240
CLOCK_EVERY = 256  # SYNs between looks at the clock


def documentation(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(d) for d in DOC_NETS)


def fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words(b: bytes) -> int:
    return sum(struct.unpack(f"!{len(b) // 2}H", b))


def main() -> int:
    ap = argparse.ArgumentParser(description="bounded lab SYN generator")
    ap.add_argument("--target", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sources", required=True, help="comma-separated IPv4 prefixes")
    ap.add_argument("--exclude", default="", help="comma-separated addresses never used as a source")
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    target = ipaddress.ip_network(a.target)
    nets = [ipaddress.ip_network(s) for s in a.sources.split(",") if s]
    if not documentation(target) or not all(documentation(n) for n in nets):
        print("syn-flood: documentation addresses only (RFC 5737)", file=sys.stderr)
        return 2
    if not 0 < a.count <= MAX_COUNT or not 0 < a.seconds <= MAX_SECONDS or not 0 < a.port <= PORT_HI:
        print(f"syn-flood: count 1..{MAX_COUNT}, seconds up to {MAX_SECONDS}, port 1..{PORT_HI}", file=sys.stderr)
        return 2
    skip = {ipaddress.ip_address(x) for x in a.exclude.split(",") if x}
    srcs = [h.packed for n in nets for h in (n.hosts() if n.num_addresses > 2 else n) if h not in skip]
    if not srcs:
        print("syn-flood: no source address left", file=sys.stderr)
        return 2
    dst = target.network_address.packed
    # The TCP checksum's constant part: pseudo-header (without the source), the header without sport.
    tcp_const = words(dst) + IPPROTO_TCP + TCP_HLEN + a.port + (TCP_HLEN // 4 << 12 | TCP_SYN) + WINDOW
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IP_HDRINCL implied
    sent = errors = 0
    first_error = None
    start = time.monotonic()
    deadline = start + a.seconds
    n_ports = PORT_HI - PORT_LO + 1
    while sent + errors < a.count:
        if (sent + errors) % CLOCK_EVERY == 0 and time.monotonic() >= deadline:
            break
        i = sent + errors
        src = srcs[i % len(srcs)]
        sport = PORT_LO + (i // len(srcs)) % n_ports
        seq = (i * 2654435761) & 0xFFFFFFFF
        csum = ~fold(tcp_const + words(src) + sport + (seq >> 16) + (seq & 0xFFFF)) & 0xFFFF
        tcp = struct.pack("!HHIIBBHHH", sport, a.port, seq, 0, TCP_HLEN // 4 << 4, TCP_SYN, WINDOW, csum, 0)
        # the kernel fills in the IPv4 total length, checksum and (when 0) identification
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0x4000, TTL, IPPROTO_TCP, 0, src, dst)
        try:
            sock.sendto(ip + tcp, (str(target.network_address), 0))
            sent += 1
        except OSError as e:  # a full queue (ENOBUFS) and the like: counted, not fatal
            errors += 1
            first_error = first_error or str(e)
    out = {"sent": sent, "elapsed_ms": round((time.monotonic() - start) * 1000), "errors": errors}
    if first_error:
        out["first_error"] = first_error
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
