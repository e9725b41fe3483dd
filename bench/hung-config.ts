// The check of a lab host's service in the hung-service benches: HTTP on the service's port every
// 1 s, timeout 150 ms, fall 2, rise 1 (only to shorten the restore); 'ours' adds a 50 ms fast interval
// and the stall signs, 'poll' has neither (1 s / fall 2, no listener watch).
import { writeFileSync } from 'node:fs';
import { type HostName, SERVICE_PORTS } from '../lab/addressing.js';
import { type AgentTimings, LAB_AGENT_TIMINGS, renderAgentConfig } from '../lab/agent-config.js';
import type { HostAgents } from '../lab/agents.js';

export const INTERVAL_MS = 1000;
export const FAST_INTERVAL_MS = 50;
export const STALL_MS = 100;
export const HTTP_PORT = SERVICE_PORTS.http;
export const TIMINGS: AgentTimings = {
  ...LAB_AGENT_TIMINGS,
  checkIntervalMs: INTERVAL_MS,
  checkTimeoutMs: 150,
  rise: 1,
  fall: 2,
};
const CHECK_LINE = /^ {6}- \{ type: tcp, port: \d+,.*$/m;

export type CheckMode = 'ours' | 'poll';

function checkLine(mode: CheckMode): string {
  const common = `type: http, port: ${HTTP_PORT}, interval: ${INTERVAL_MS}ms, timeout: ${TIMINGS.checkTimeoutMs}ms, rise: ${TIMINGS.rise}, fall: ${TIMINGS.fall}`;
  return mode === 'ours'
    ? `      - { ${common}, fast_interval: ${FAST_INTERVAL_MS}ms, stall_time: ${STALL_MS}ms, watch_socket: true, watch_stall: true }`
    : `      - { ${common}, watch_socket: false, watch_stall: false }`;
}

/** Writes `host`'s agent config with the lab's TCP check replaced by the HTTP check of `mode`. */
export function writeHostConfig(agents: HostAgents, host: HostName, mode: CheckMode): void {
  const p = agents.paths(host);
  const yaml = renderAgentConfig(host, p, TIMINGS);
  if (!CHECK_LINE.test(yaml)) throw new Error('the lab config has no TCP check line to replace');
  writeFileSync(p.config, yaml.replace(CHECK_LINE, checkLine(mode)));
}
