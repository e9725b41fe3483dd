// The addressing plan and the rendered router configs: every address from the documentation ranges,
// link ends paired on /31 and /127 (never the ::0 of a /127), nothing assigned twice, interface names
// within IFNAMSIZ; FRR's and BIRD's own parsers accept the configs rendered for every node.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AS_HOST, HOST_PLAN, HOSTS, LINKS, NODES, ROUTER_ID, VIP4, VIP6 } from '../../lab/addressing.js';
import { renderBird } from '../../lab/bird.js';
import { run } from '../../lab/exec.js';
import { renderBgpd } from '../../lab/frr.js';
import { labPrefix } from '../../lab/netns.js';
import { hostPeers, spinePeers, torPeers } from '../../lab/peers.js';

/** Linux IFNAMSIZ - 1 (the terminating NUL). */
const IFNAME_MAX = 15;
const DOC_V4 = [/^192\.0\.2\./, /^198\.51\.100\./, /^203\.0\.113\./];

function v4Last(a: string): number {
  return Number(a.split('.')[3]);
}

test('every address is from the documentation ranges and assigned once', () => {
  const all = [
    ...LINKS.flatMap((l) => [l.a.v4, l.b.v4, l.a.v6, l.b.v6]),
    ...HOSTS.flatMap((h) => [HOST_PLAN[h].lo4, HOST_PLAN[h].lo6]),
  ];
  assert.equal(new Set(all).size, all.length, 'no address twice');
  for (const a of [...all, VIP4, VIP6]) {
    if (a.includes(':')) assert.match(a, /^2001:db8:/, a);
    else
      assert.ok(
        DOC_V4.some((r) => r.test(a)),
        a,
      );
  }
});

test('link ends pair up on /31 and /127, and the IPv6 end repeats the IPv4 octet', () => {
  for (const { a, b } of LINKS) {
    assert.equal(v4Last(a.v4) % 2, 0, `${a.v4} is the even end`);
    assert.equal(v4Last(b.v4), v4Last(a.v4) + 1, `${a.v4}/${b.v4} share a /31`);
    const a6 = Number.parseInt(a.v6.split('::')[1]!, 16);
    const b6 = Number.parseInt(b.v6.split('::')[1]!, 16);
    assert.equal(a6 % 2, 0);
    assert.equal(b6, a6 + 1, `${a.v6}/${b.v6} share a /127`);
    assert.notEqual(a6, 0, 'never the subnet-router anycast address');
    assert.equal(a.v6.split('::')[1], String(v4Last(a.v4)));
  }
});

test('interface and namespace names fit', () => {
  for (const { a, b } of LINKS) for (const e of [a, b]) assert.ok(e.ifname.length <= IFNAME_MAX, e.ifname);
  const prefix = labPrefix(999, 4_194_304); // largest Linux pid + 1
  for (const n of NODES) assert.ok(`${prefix}${n}`.length < 64, 'short enough for a netns file name');
});

test('sessions: every host has its own AS and two ToRs, both families; ToRs send the spine every path', () => {
  for (const h of HOSTS) {
    const peers = hostPeers(h);
    assert.equal(peers.length, 4);
    assert.ok(
      peers.every(
        (p) => p.localAs === AS_HOST[h] && p.import === 'default-only' && p.export === 'host-routes',
      ),
    );
  }
  for (const tor of ['tor1', 'tor2'] as const) {
    const up = torPeers(tor).filter((p) => p.peer === 'spine');
    assert.ok(up.length === 2 && up.every((p) => p.addPathTx && p.export === 'host-routes'));
  }
  assert.ok(spinePeers().every((p) => p.originateDefault && p.export === 'none'));
});

test('FRR and BIRD accept the configs rendered for every node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acdlab-plan-'));
  chmodSync(dir, 0o755); // bgpd reads its config after dropping to the frr user
  try {
    for (const [name, conf] of [
      ['spine', renderBgpd('spine', ROUTER_ID.spine, spinePeers())],
      ['tor1', renderBgpd('tor1', ROUTER_ID.tor1, torPeers('tor1'))],
    ] as const) {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, conf);
      assert.match(conf, /bgp bestpath as-path multipath-relax/);
      assert.match(conf, /maximum-paths \d+/);
      // bgpd -C exits 0 even on bad lines; it reports them as "[EC ...]" errors, so look for those.
      const out = run('sh', [
        '-c',
        `/usr/lib/frr/bgpd -C -f ${file} -u frr -g frr --vty_socket ${dir} -i ${dir}/x.pid 2>&1`,
      ]);
      assert.doesNotMatch(out, /\[EC \d+\]|Unknown command|No such command/, `${name}: ${out}`);
    }
    const birds = [
      ['tor2', renderBird(ROUTER_ID.tor2, torPeers('tor2'), join(dir, 'log'))],
      [
        'h1',
        renderBird(HOST_PLAN.h1.lo4, hostPeers('h1'), join(dir, 'log'), {
          v4: [`${VIP4}/32`],
          v6: [`${VIP6}/128`],
        }),
      ],
    ] as const;
    for (const [name, conf] of birds) {
      const file = join(dir, `${name}.bird.conf`);
      writeFileSync(file, conf);
      run('bird', ['-p', '-c', file]); // throws ERR_LAB_COMMAND with BIRD's parse error
    }
    // and a broken config is caught, so the checks above mean something
    writeFileSync(join(dir, 'bad.conf'), 'router bgp 65000\n bgp bogus-knob\n');
    const bad = run('sh', [
      '-c',
      `/usr/lib/frr/bgpd -C -f ${dir}/bad.conf -u frr -g frr --vty_socket ${dir} -i ${dir}/x.pid 2>&1`,
    ]);
    assert.match(bad, /\[EC \d+\]|No such command/);
    writeFileSync(join(dir, 'bad.bird.conf'), 'protocol bgp x { bogus; }\n');
    assert.throws(() => run('bird', ['-p', '-c', join(dir, 'bad.bird.conf')]), { code: 'ERR_LAB_COMMAND' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
