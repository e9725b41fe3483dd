// Reload applies only the difference: a bad file is rejected whole (running config and every part
// untouched), an unchanged service sees no ring write and no route change, a changed one only what
// changed, added/removed services go through the up/down steps, peers go to the speaker's applyPeers.
// On a FakeClock: the fake peers' flushes pass as the reload waits for them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/reload.js';
import { aliasBomb } from '../config/fixtures.js';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  configYaml,
  FakeAnnouncer,
  FakeHost,
  FakeSteering,
  fakeHealthFactory,
  PeerAwareAnnouncer,
  Recorder,
  serviceYaml,
} from './fakes.js';

const FILE = '/test/anycastd.yaml';
const WEB = serviceYaml();
const DNS = serviceYaml({ name: 'dns', vip: '203.0.113.53', port: 53 });

async function running(files: Record<string, string>, peerAware = false) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const texts = new Map(Object.entries(files));
  const load = async (file: string) => parseConfig(texts.get(file) ?? '', file);
  const store = new ConfigStore(await load(FILE), load);
  const announcer = peerAware ? new PeerAwareAnnouncer(rec) : new FakeAnnouncer(rec);
  const health = fakeHealthFactory(clock);
  const agent = new Agent(store, {
    announcer,
    host: new FakeHost(rec),
    steering: new FakeSteering(rec),
    health: health.factory,
    sink: silentSink,
    clock,
  });
  const events: { event: string; service?: string; reason?: string }[] = [];
  agent.on('log', (r) => events.push(r));
  agent.start();
  for (const h of health.made.values()) for (const id of ['h1', 'h2']) h.set(id, 'up', 'rise-reached');
  // What the agent started runs to its end: the clock moves through its waits.
  const idle = () => clock.settle(agent.idle());
  const reload = (file?: string) => clock.settle(agent.reload(file));
  const stop = () => clock.settle(agent.stop());
  await idle();
  return { rec, texts, agent, health, events, mark: rec.steps.length, idle, reload, stop };
}

test('a bad file is rejected whole: error logged, running config and every part untouched', async () => {
  const bad = configYaml([
    serviceYaml({ onDown: '{ action: withdraw }' }).replace('interval: 1s', 'interval: fast'),
  ]);
  const s = await running({ [FILE]: configYaml([WEB]), '/test/bad.yaml': bad });
  const before = s.agent.config;
  const r = await s.reload('/test/bad.yaml');
  assert.equal(r.ok, false);
  assert.equal(s.agent.config, before);
  const rejected = s.events.find((e) => e.event === 'config-rejected');
  assert.ok(rejected);
  assert.match(JSON.stringify(rejected), /bad\.yaml:\d+:\d+: services\[0\]\.checks\[0\]\.interval/);
  assert.deepEqual(s.rec.since(s.mark), []);
  await s.stop();
});

test('an alias bomb is rejected as an invalid file and logged; the running config stays', async () => {
  const s = await running({ [FILE]: configYaml([WEB]), '/test/bomb.yaml': aliasBomb() });
  const before = s.agent.config;
  const r = await s.reload('/test/bomb.yaml');
  assert.equal(r.ok, false);
  assert.equal(s.agent.config, before);
  const rejected = s.events.find((e) => e.event === 'config-rejected');
  assert.ok(rejected, 'the refusal is logged');
  assert.match(
    JSON.stringify(rejected),
    /bomb\.yaml:2:\d+: expected YAML whose aliases expand to at most 100/,
  );
  assert.deepEqual(s.rec.since(s.mark), []);
  await s.stop();
});

test('a change to one service touches nothing of another; unchanged checks keep their health', async () => {
  const s = await running({ [FILE]: configYaml([WEB, DNS]) });
  const dnsHealth = s.health.made.get('dns')!;
  s.texts.set(
    FILE,
    configYaml([WEB, serviceYaml({ name: 'dns', vip: '203.0.113.53', port: 53, drainTime: '9s' })]),
  );
  const r = await s.reload();
  assert.equal(r.ok, true);
  assert.ok(r.ok && r.diff.services.changed.length === 1 && !r.diff.services.changed[0]!.ringChanged);
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), ['vips web=203.0.113.10 dns=203.0.113.53']);
  assert.equal(s.health.made.get('dns'), dnsHealth, 'no new checkers');
  await s.stop();
});

test('changed checks: new checkers, the route and rings held until they settle, then no change', async () => {
  const s = await running({ [FILE]: configYaml([WEB, DNS]) });
  s.texts.set(FILE, configYaml([WEB, DNS.replace('interval: 1s', 'interval: 2s')]));
  await s.reload();
  const fresh = s.health.made.get('dns')!;
  assert.equal(fresh.started, true);
  fresh.set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.equal(s.agent.status().services[1]!.route, 'advertised', 'held while h2 is unknown');
  fresh.set('h2', 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), ['vips web=203.0.113.10 dns=203.0.113.53']);
  assert.ok(s.events.some((e) => e.event === 'checks-restarted' && e.service === 'dns'));
  await s.stop();
});

test('a weight change rebuilds that service’s rings only, after its checks settle', async () => {
  const s = await running({ [FILE]: configYaml([WEB, DNS]) });
  s.texts.set(FILE, configYaml([WEB, DNS.replace('weight: 2', 'weight: 3')]));
  await s.reload();
  for (const id of ['h1', 'h2']) s.health.made.get('dns')!.set(id, 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), [
    'vips web=203.0.113.10 dns=203.0.113.53',
    'ring dns new [h1,h2]',
    'ring dns established [h1,h2]',
  ]);
  await s.stop();
});

test('service removed: withdraw → flushed → rings emptied → VIP off lo; added: up path once settled', async () => {
  const s = await running({ [FILE]: configYaml([WEB, DNS]) });
  s.texts.set(FILE, configYaml([WEB, serviceYaml({ name: 'mail', vip: '203.0.113.25', port: 25 })]));
  await s.reload();
  assert.deepEqual(s.rec.since(s.mark), [
    'withdraw 203.0.113.53/32',
    'flushed',
    'ring-remove dns',
    'lo-remove 203.0.113.53',
    'vips web=203.0.113.10 mail=203.0.113.25',
  ]);
  const mark = s.rec.steps.length;
  for (const id of ['h1', 'h2']) s.health.made.get('mail')!.set(id, 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(mark), [
    'lo-add 203.0.113.25',
    'ring mail new [h1,h2]',
    'ring mail established [h1,h2]',
    'advertise 203.0.113.25/32',
  ]);
  await s.stop();
});

test('a VIP added to / removed from a running service: lo then advertise; withdraw, flushed, then lo', async () => {
  const s = await running({ [FILE]: configYaml([WEB]) });
  s.texts.set(FILE, configYaml([WEB.replace('[203.0.113.10]', '[203.0.113.10, 203.0.113.11]')]));
  await s.reload();
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), [
    'vips web=203.0.113.10+203.0.113.11',
    'lo-add 203.0.113.11',
    'advertise 203.0.113.11/32',
  ]);
  const mark = s.rec.steps.length;
  s.texts.set(FILE, configYaml([WEB.replace('[203.0.113.10]', '[203.0.113.11]')]));
  await s.reload();
  await s.idle();
  assert.deepEqual(s.rec.since(mark), [
    'withdraw 203.0.113.10/32',
    'flushed',
    'lo-remove 203.0.113.10',
    'vips web=203.0.113.11',
  ]);
  await s.stop();
});

test('peers: handed to the speaker’s applyPeers; without it, a warning and nothing else', async () => {
  const aware = await running({ [FILE]: configYaml([WEB]) }, true);
  aware.texts.set(FILE, configYaml([WEB], 'tor1,tor2'));
  await aware.reload();
  assert.deepEqual(aware.rec.since(aware.mark), ['apply-peers tor1,tor2', 'vips web=203.0.113.10']);
  await aware.stop();
  const plain = await running({ [FILE]: configYaml([WEB]) });
  plain.texts.set(FILE, configYaml([WEB], 'tor1,tor2'));
  await plain.reload();
  assert.ok(plain.events.some((e) => e.event === 'peers-not-applied'));
  assert.deepEqual(plain.rec.since(plain.mark), ['vips web=203.0.113.10']);
  await plain.stop();
});
