// A small valid config used by the config tests; variants are made by replacing one line.

export const BASE = `node:
  id: h1
  host: { ipv4: 192.0.2.11, ipv6: "2001:db8::11" }
  asn: 4200000011
  uplinks: [eth0]
bgp:
  peers:
    - name: tor1
      address: 198.51.100.0
      remote_asn: 65001
      hold_time: 9s
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }
    checks:
      - type: tcp
        port: 80
        interval: 1s
dataplane:
  ring_size: 65537
`;

/** BASE with the first occurrence of `from` replaced by `to` (throws if absent, so a test cannot go stale). */
export function variant(from: string, to: string, base: string = BASE): string {
  if (!base.includes(from)) throw new Error(`fixture has no ${JSON.stringify(from)}`);
  return base.replace(from, to);
}

/** Nine levels of nine aliases each: 9^9 nodes if expanded ("billion laughs"). */
export function aliasBomb(): string {
  const levels = 'bcdefghi';
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  let prev = 'a';
  for (const l of levels) {
    lines.push(`${l}: &${l} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    prev = l;
  }
  return `${lines.join('\n')}\n`;
}
