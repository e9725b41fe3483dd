import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { check, loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { BASE, variant } from './fixtures.js';

const FILE = '/etc/anycastd/test.yaml';

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_CONFIG');
    return [...err.issues];
  }
  assert.fail('expected a ConfigError');
}

test('the example config parses, with defaults filled and durations in ms', async () => {
  const r = await check(new URL('../../examples/anycastd.yaml', import.meta.url).pathname);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const cfg = r.config;
  assert.equal(cfg.node.asn, 4_200_000_011);
  assert.equal(cfg.node.routerId, '192.0.2.11');
  assert.equal(cfg.peers.length, 2);
  assert.deepEqual(
    { hold: cfg.peers[0]!.holdTimeMs, ka: cfg.peers[0]!.keepaliveMs, gtsm: cfg.peers[0]!.ttlSecurityHops },
    { hold: 9000, ka: 3000, gtsm: 1 },
  );
  assert.deepEqual(cfg.peers[0]!.maxPrefix, { limit: 10, action: 'withdraw' });
  assert.equal(cfg.peers[1]!.interface, 'eth1');
  assert.equal(cfg.peers[1]!.address, null);
  assert.equal(cfg.peers[1]!.keepaliveMs, 30_000); // default hold 90s / 3
  assert.deepEqual(
    cfg.peers[1]!.importAccept.map((p) => p.prefix),
    ['0.0.0.0/0', '::/0'],
  );
  const web = cfg.services[0]!;
  assert.equal(web.localInstanceId, 'h1');
  assert.deepEqual(web.vips, ['203.0.113.10', '2001:db8:100::10']);
  assert.equal(web.checks[0]!.fastIntervalMs, 200);
  assert.equal(web.checks[1]!.fastIntervalMs, 1000); // defaults to the interval
  assert.deepEqual(web.onDown, { action: 'graceful_shutdown', delayMs: 2000, med: 1000, prepend: 3 });
  assert.equal(cfg.services[1]!.drainFile, '/run/anycastd/drain/dns');
  assert.equal(cfg.metrics.listen, '127.0.0.1:9469');
  assert.equal(cfg.dataplane.ringSize, 65_537);
});

test('a minimal config gets every default', () => {
  const cfg = parseConfig(BASE, FILE);
  assert.equal(cfg.file, FILE);
  assert.deepEqual(cfg.kernelRoute, { metric: 20, protocol: 201 });
  assert.deepEqual(cfg.api, { socket: '/run/anycastd/anycastd.sock', group: null });
  assert.deepEqual(cfg.dataplane, {
    mode: 'xdp',
    xdpMode: 'native',
    mtu: 1500,
    flowTableSize: 1_048_576,
    floodNewFlowsPerCpu: 125_000,
    ringSize: 65_537,
    maxServices: null,
    forgetClosedFlows: true,
    recordFlows: 'all',
  });
  const chk = cfg.services[0]!.checks[0]!;
  assert.deepEqual(
    [chk.intervalMs, chk.timeoutMs, chk.rise, chk.fall, chk.dampening],
    [1000, 500, 2, 2, null],
  );
  assert.equal(cfg.services[0]!.instances[1]!.weight, 2);
  assert.equal(cfg.peers[0]!.connectRetryMs, 5000);
});

/** One bad file each: the exact message line and structured fields of the (single) issue. */
const BAD: { name: string; text: string; line: number; column: number; path: string; message: string }[] = [
  {
    name: 'unknown key',
    text: variant('  uplinks: [eth0]\n', '  uplinks: [eth0]\n  colour: blue\n'),
    line: 6,
    column: 3,
    path: 'node.colour',
    message:
      'node.colour: expected one of the keys: id, host, asn, router_id, uplinks, found unknown key "colour"',
  },
  {
    name: 'non-integer ASN',
    text: variant('asn: 4200000011', 'asn: 65000.5'),
    line: 4,
    column: 8,
    path: 'node.asn',
    message: 'node.asn: expected an integer, found 65000.5',
  },
  {
    name: 'ASN beyond 4 octets',
    text: variant('asn: 4200000011', 'asn: 4294967296'),
    line: 4,
    column: 8,
    path: 'node.asn',
    message: 'node.asn: expected a number <= 4294967295, found 4294967296',
  },
  {
    name: 'missing required key',
    text: variant('      remote_asn: 65001\n', ''),
    line: 8,
    column: 7,
    path: 'bgp.peers[0].remote_asn',
    message: 'bgp.peers[0].remote_asn: expected a number, found nothing',
  },
  {
    name: 'bad address',
    text: variant('address: 198.51.100.0', 'address: 198.51.100.300'),
    line: 9,
    column: 16,
    path: 'bgp.peers[0].address',
    message: 'bgp.peers[0].address: expected an IPv4 or IPv6 address, found "198.51.100.300"',
  },
  {
    name: 'bad duration',
    text: variant('interval: 1s', 'interval: fast'),
    line: 22,
    column: 19,
    path: 'services[0].checks[0].interval',
    message:
      'services[0].checks[0].interval: expected a duration such as "250ms", "2s" or "1m", found "fast"',
  },
  {
    name: 'bare number as duration',
    text: variant('interval: 1s', 'interval: 2'),
    line: 22,
    column: 19,
    path: 'services[0].checks[0].interval',
    message: 'services[0].checks[0].interval: expected a duration such as "250ms", "2s" or "1m", found 2',
  },
  {
    name: 'unknown check type',
    text: variant('- type: tcp', '- type: ping'),
    line: 20,
    column: 15,
    path: 'services[0].checks[0].type',
    message:
      'services[0].checks[0].type: expected one of "tcp", "http", "https", "exec", "dns", "udp", found "ping"',
  },
  {
    name: 'bad enum',
    text: variant('protocol: tcp', 'protocol: sctp'),
    line: 15,
    column: 25,
    path: 'services[0].ports[0].protocol',
    message: 'services[0].ports[0].protocol: expected one of "tcp", "udp", found "sctp"',
  },
  {
    name: 'port out of range',
    text: variant('port: 80 }', 'port: 70000 }'),
    line: 15,
    column: 36,
    path: 'services[0].ports[0].port',
    message: 'services[0].ports[0].port: expected a number <= 65535, found 70000',
  },
  {
    name: 'wrong type: mapping instead of list',
    text: variant('vips: [203.0.113.10]', 'vips: { a: 1 }'),
    line: 14,
    column: 11,
    path: 'services[0].vips',
    message: 'services[0].vips: expected a list, found a mapping',
  },
  {
    name: 'ring size not prime',
    text: variant('ring_size: 65537', 'ring_size: 65536'),
    line: 24,
    column: 14,
    path: 'dataplane.ring_size',
    message: 'dataplane.ring_size: expected a prime number (Maglev needs a prime table size), found 65536',
  },
  {
    name: 'forget_closed_flows is a boolean',
    text: variant('ring_size: 65537', 'ring_size: 65537\n  forget_closed_flows: sometimes'),
    line: 25,
    column: 24,
    path: 'dataplane.forget_closed_flows',
    message: 'dataplane.forget_closed_flows: expected true or false, found "sometimes"',
  },
  {
    name: 'record_flows is all or movable',
    text: variant('ring_size: 65537', 'ring_size: 65537\n  record_flows: some'),
    line: 25,
    column: 17,
    path: 'dataplane.record_flows',
    message: 'dataplane.record_flows: expected one of "all", "movable", found "some"',
  },
  {
    name: 'hold time between 0 and 3s (RFC 4271)',
    text: variant('hold_time: 9s', 'hold_time: 2s'),
    line: 11,
    column: 18,
    path: 'bgp.peers[0].hold_time',
    message: 'bgp.peers[0].hold_time: expected a hold time of 0 or at least 3s, found "2s"',
  },
  {
    name: 'duplicate instance id',
    text: variant('{ id: h2,', '{ id: h1,'),
    line: 18,
    column: 15,
    path: 'services[0].instances[1].id',
    message:
      'services[0].instances[1].id: expected an instance id used once, found a duplicate of an earlier one ("h1")',
  },
  {
    name: 'no local instance',
    text: variant('{ id: h1, host: { ipv4: 192.0.2.11 } }', '{ id: h1, host: { ipv4: 192.0.2.13 } }'),
    line: 17,
    column: 7,
    path: 'services[0].instances',
    message:
      "services[0].instances: expected exactly one instance whose host is this node's host address, found none",
  },
  {
    name: 'VIP family without instance address',
    text: variant(
      'vips: [203.0.113.10]',
      'vips: [203.0.113.10, "2001:db8:100::10"]',
      variant(
        '{ ipv4: 192.0.2.12 }',
        '{ ipv4: 192.0.2.12, ipv6: "2001:db8::12" }',
        variant('      address: 198.51.100.0\n', '      interface: eth1\n'),
      ),
    ),
    line: 17,
    column: 25,
    path: 'services[0].instances[0].host',
    message:
      'services[0].instances[0].host: expected an ipv6 key (the service has an IPv6 VIP), found a mapping',
  },
  {
    name: 'timeout not below interval',
    text: variant('interval: 1s', 'interval: 1s\n        timeout: 1s'),
    line: 23,
    column: 18,
    path: 'services[0].checks[0].timeout',
    message: 'services[0].checks[0].timeout: expected a timeout shorter than the interval, found "1s"',
  },
  {
    name: 'peer with both address and interface',
    text: variant('      address: 198.51.100.0\n', '      address: 198.51.100.0\n      interface: eth0\n'),
    line: 8,
    column: 7,
    path: 'bgp.peers[0]',
    message: 'bgp.peers[0]: expected exactly one of the keys address or interface, found a mapping',
  },
  {
    name: 'duplicate YAML key',
    text: variant('  id: h1\n', '  id: h1\n  id: h2\n'),
    line: 3,
    column: 3,
    path: '',
    message: 'expected valid YAML, found DUPLICATE_KEY: Map keys must be unique',
  },
  {
    name: 'community out of range',
    text: variant(
      '      hold_time: 9s\n',
      '      hold_time: 9s\n      export: { communities: ["65536:1"] }\n',
    ),
    line: 12,
    column: 31,
    path: 'bgp.peers[0].export.communities[0]',
    message:
      'bgp.peers[0].export.communities[0]: expected a community "ASN:VALUE" with two 16-bit numbers, found "65536:1"',
  },
  {
    name: 'import prefix with host bits',
    text: variant('      hold_time: 9s\n', '      hold_time: 9s\n      import: { accept: ["10.0.0.1/8"] }\n'),
    line: 12,
    column: 26,
    path: 'bgp.peers[0].import.accept[0]',
    message:
      'bgp.peers[0].import.accept[0]: expected a prefix with optional bounds, such as "0.0.0.0/0" or "10.0.0.0/8 ge 16 le 24", found "10.0.0.1/8"',
  },
  {
    name: 'password and password_file together',
    text: variant(
      '      hold_time: 9s\n',
      '      hold_time: 9s\n      password: s3cret\n      password_file: /etc/anycastd/tor1.key\n',
    ),
    line: 13,
    column: 22,
    path: 'bgp.peers[0].password_file',
    message:
      'bgp.peers[0].password_file: expected only one of password or password_file, found "/etc/anycastd/tor1.key"',
  },
  {
    name: 'metrics listen without port',
    text: variant('dataplane:', 'metrics: { listen: "127.0.0.1" }\ndataplane:'),
    line: 23,
    column: 20,
    path: 'metrics.listen',
    message:
      'metrics.listen: expected an address and port such as "127.0.0.1:9469" or "[::1]:9469", found "127.0.0.1"',
  },
  {
    name: 'worsening on_down without a delay',
    text: variant('    checks:\n', '    on_down: { action: med }\n    checks:\n'),
    line: 19,
    column: 14,
    path: 'services[0].on_down.delay',
    message:
      'services[0].on_down.delay: expected a delay above 0 (action med worsens the route, then withdraws), found nothing',
  },
  {
    name: 'bad join grace',
    text: variant('    checks:\n', '    join_grace: later\n    checks:\n'),
    line: 19,
    column: 17,
    path: 'services[0].join_grace',
    message: 'services[0].join_grace: expected a duration such as "250ms", "2s" or "1m", found "later"',
  },
  {
    name: 'cluster port out of range',
    text: variant('dataplane:\n', 'cluster: { port: 0 }\ndataplane:\n'),
    line: 23,
    column: 18,
    path: 'cluster.port',
    message: 'cluster.port: expected a number >= 1, found 0',
  },
];

for (const c of BAD) {
  test(`bad config: ${c.name} → ${FILE}:${c.line}:${c.column}`, () => {
    const issues = issuesOf(c.text);
    assert.equal(issues.length, 1, issues.map((i) => JSON.stringify(i)).join('\n'));
    const i = issues[0]!;
    assert.deepEqual(
      { line: i.line, column: i.column, path: i.path, file: i.file },
      {
        line: c.line,
        column: c.column,
        path: c.path,
        file: FILE,
      },
    );
    assert.equal(`${i.path === '' ? '' : `${i.path}: `}expected ${i.expected}, found ${i.found}`, c.message);
    assert.equal(
      (() => {
        try {
          parseConfig(c.text, FILE);
          return '';
        } catch (err) {
          return (err as Error).message;
        }
      })(),
      `${FILE}:${c.line}:${c.column}: ${c.message}`,
    );
  });
}

test('several problems are all reported, in file order', () => {
  const text = variant('asn: 4200000011', 'asn: x', variant('protocol: tcp', 'protocol: sctp'));
  const issues = issuesOf(text);
  assert.deepEqual(
    issues.map((i) => [i.line, i.path]),
    [
      [4, 'node.asn'],
      [15, 'services[0].ports[0].protocol'],
    ],
  );
});

test('an empty file names the missing node section', () => {
  const issues = issuesOf('');
  assert.deepEqual(
    issues.map((i) => `${i.path}: ${i.expected} / ${i.found}`),
    ['node: a mapping / nothing'],
  );
});

test('dataplane.mode: xdp (the default) needs an uplink; none needs none', () => {
  const noUplinks = variant('  uplinks: [eth0]\n', '');
  assert.equal(parseConfig(BASE, FILE).dataplane.mode, 'xdp');
  assert.deepEqual(
    issuesOf(noUplinks).map((i) => `${i.path}: ${i.expected}`),
    ['node.uplinks: at least one interface to attach XDP to (or dataplane.mode: none)'],
  );
  const none = parseConfig(variant('ring_size: 65537', 'mode: none\n  ring_size: 65537', noUplinks), FILE);
  assert.equal(none.dataplane.mode, 'none');
  assert.deepEqual(none.node.uplinks, []);
  assert.match(
    issuesOf(variant('ring_size: 65537', 'mode: tc\n  ring_size: 65537'))
      .map((i) => i.path)
      .join(),
    /dataplane\.mode/,
  );
});

test('check is pure: a password file and a drain directory that do not exist are not looked at', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-config-'));
  const file = join(dir, 'anycastd.yaml');
  const text = variant(
    '      hold_time: 9s\n',
    `      hold_time: 9s\n      password_file: ${join(dir, 'missing.key')}\n`,
    variant('    checks:\n', `    drain_file: ${join(dir, 'no-such-dir', 'web')}\n    checks:\n`),
  );
  writeFileSync(file, text);
  const r = await check(file);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.config.peers[0]!.passwordFile, join(dir, 'missing.key'));
  assert.equal(r.config.services[0]!.drainFile, join(dir, 'no-such-dir', 'web'));
  assert.deepEqual(readdirSync(dir), ['anycastd.yaml']);
});

test('an unreadable file is a ConfigError naming the file and errno', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-config-'));
  const missing = join(dir, 'nope.yaml');
  await assert.rejects(loadConfig(missing), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `${missing}: expected a readable file, found ENOENT`);
    return true;
  });
  const good = join(dir, 'good.yaml');
  writeFileSync(good, BASE);
  const cfg = await loadConfig(good);
  assert.equal(cfg.file, good);
});

test('a VIP family no peer carries is refused, naming the VIP and the peers; an interface peer carries both', () => {
  const v6Only = variant('address: 198.51.100.0', 'address: "2001:db8:1::1"');
  const issues = issuesOf(v6Only);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.path, 'services[0].vips[0]');
  assert.match(issues[0]!.found, /IPv4 VIP 203\.0\.113\.10 of service "web"/);
  assert.match(issues[0]!.found, /tor1 \(2001:db8:1::1: IPv6\) carry no IPv4/);
  assert.match(issues[0]!.expected, /add an IPv4 session or an interface peer/);
  // an IPv6 VIP beside it, with only an IPv4 peer: that one is refused instead
  const v4Only = variant('vips: [203.0.113.10]', 'vips: [203.0.113.10, "2001:db8:ffff::10"]');
  const both = variant(
    '      - { id: h1, host: { ipv4: 192.0.2.11 } }',
    '      - { id: h1, host: { ipv4: 192.0.2.11, ipv6: "2001:db8::11" } }',
    v4Only,
  );
  const v6Issues = issuesOf(
    variant(
      '      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }',
      '      - { id: h2, host: { ipv4: 192.0.2.12, ipv6: "2001:db8::12" }, weight: 2 }',
      both,
    ),
  );
  assert.deepEqual(
    v6Issues.map((i) => i.path),
    ['services[0].vips[1]'],
  );
  // an unnumbered peer carries both families (RFC 8950): accepted
  const unnumbered = variant(
    '      address: 198.51.100.0\n',
    '      interface: eth1\n',
    v6Only.replace('address: "2001:db8:1::1"', 'address: 198.51.100.0'),
  );
  assert.equal(parseConfig(unnumbered, FILE).peers[0]!.interface, 'eth1');
});
