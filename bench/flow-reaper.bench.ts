// The agent's CPU per closed connection with the flow reaper on (src/steer/flow-reaper.ts), against the
// same churn with it off, in one process: connections to a VIP on 127.0.0.1 (this host's instance), each
// recorded in the flow table by the program's own SYN, then closed by the server. Rounds alternate off /
// on after a warm-up; the figure is process CPU (user + system) per connection, medians of the rounds.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { FlowReaper } from '../src/steer/flow-reaper.js';
import * as P from '../src/steer/proto.js';
import { flowFrame } from '../test/steer/packets.js';
import { openTestbed, SVC_LOCAL, VIPS } from '../test/steer/setup.js';
import type { BenchOutput } from './run.js';

const CONNECTIONS = Number(process.env.ANYCASTD_BENCH_REAPER_CONNECTIONS ?? 4000);
const ROUNDS = 5;
const BATCH = 100;
const LO = '127.0.0.1';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchOutput> {
  const dp = openTestbed();
  const server = createServer((s) => {
    s.on('error', () => {});
    s.destroy();
  });
  try {
    server.listen(0, LO);
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    dp.setVips([...Object.values(VIPS), { vipId: 30, serviceId: SVC_LOCAL, addr: LO, proto: 'tcp', port }]);
    const one = (): Promise<void> =>
      new Promise((done) => {
        const c: Socket = connect(port, LO);
        c.on('connect', () => {
          const syn = {
            family: 4,
            proto: 'tcp',
            src: LO,
            dst: LO,
            sport: c.localPort!,
            dport: port,
          } as const;
          dp.program.testRun({ data: flowFrame({ ...syn, flags: P.TCP_SYN }) });
        });
        c.on('error', () => done());
        c.on('close', () => done());
      });
    /** Process CPU (µs) per connection for one round. */
    const round = async (reaper: boolean): Promise<number> => {
      dp.clearFlows();
      const r = reaper ? FlowReaper.start(dp) : undefined;
      const cpu = process.cpuUsage();
      for (let i = 0; i < CONNECTIONS; i += BATCH) await Promise.all(Array.from({ length: BATCH }, one));
      await new Promise((done) => setTimeout(done, 300)); // the last broadcasts
      const used = process.cpuUsage(cpu);
      r?.close();
      if (r) assert.equal(dp.map('flows').count(), 0, 'every closed connection took its flow entry');
      else assert.ok(dp.map('flows').count() > CONNECTIONS / 2, 'without the reaper the entries stay');
      return (used.user + used.system) / CONNECTIONS;
    };
    await round(false);
    await round(true); // warm-up of both
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      off.push(await round(false));
      on.push(await round(true));
    }
    const data = { connections: CONNECTIONS, rounds: ROUNDS, offUs: median(off), onUs: median(on) };
    const extra = data.onUs - data.offUs;
    return {
      report: [
        `process CPU per connection (open, record, close; ${CONNECTIONS} × ${ROUNDS} rounds, medians):`,
        `  reaper off ${data.offUs.toFixed(1)} µs, on ${data.onUs.toFixed(1)} µs (${(data.onUs / data.offUs).toFixed(2)}×): ` +
          `+${extra.toFixed(1)} µs per closed connection`,
      ].join('\n'),
      data: { ...data, extraUs: extra },
    };
  } finally {
    server.close();
    dp.close();
  }
}
