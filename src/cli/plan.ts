// `anycastd plan [-c FILE] [--from OLD]` and `anycastd check -c FILE --diff`: what a config change would
// do before it is applied (plan-build.ts). Against the running agent (the default) its config comes over
// the control socket (`config`: secrets as fingerprints) and its rings' members from `instances`; with
// --from, two files are compared offline (every instance counted as healthy). Text or --json.
import { callOnce } from '../api/client.js';
import { check } from '../config/load.js';
import { publicView } from '../config/public-view.js';
import type { Config } from '../config/types.js';
import { reportError } from './api-command.js';
import { EXIT_OK, EXIT_USAGE } from './exit.js';
import type { CliIo } from './io.js';
import { buildPlan, type LiveMembers, type Plan } from './plan-build.js';

const PERCENT = 100;
const pct = (r: number): string => `${(r * PERCENT).toFixed(1)}%`;

const SESSION_WORDS: Record<Plan['sessions'][number]['action'], string> = {
  open: 'opened (new peer)',
  close: 'closed (peer removed)',
  reset: 'reset',
  refresh: 'kept up, routes refreshed',
};

export function planText(p: Plan, header: string): string {
  if (p.empty) return `${header}\nno change`;
  const out = [header];
  if (p.sessions.length > 0) {
    out.push('sessions:');
    for (const s of p.sessions)
      out.push(
        `  ${s.peer}: ${SESSION_WORDS[s.action]}${s.fields.length > 0 ? ` (${s.fields.join(', ')} changed)` : ''}`,
      );
  }
  if (p.routes.length > 0) {
    out.push('routes:');
    for (const r of p.routes)
      out.push(
        r.action === 'advertise'
          ? `  + ${r.prefix}  ${r.service} (advertised once its checks pass)`
          : `  - ${r.prefix}  ${r.service} (withdrawn)`,
      );
  }
  if (p.noRings) out.push('rings: none (dataplane.mode none: the fabric’s ECMP decides where flows go)');
  else if (p.rings.length > 0) {
    out.push('rings (share of buckets, and of new flows, that move; established flows stay):');
    for (const r of p.rings)
      out.push(
        `  ${r.service}: ${pct(r.moved)}${r.sampled ? ' (estimated: ring size changes)' : ''}  ` +
          `[${r.membersBefore.join(',') || '-'}] -> [${r.membersAfter.join(',') || '-'}]`,
      );
  }
  if (p.checksRestart.length > 0) out.push(`checks restart: ${p.checksRestart.join(', ')}`);
  if (p.restarted.length > 0) out.push(`restarted in place: ${p.restarted.join(', ')}`);
  if (p.restartRequired.length > 0)
    out.push(`not applied by a reload, restart the agent: ${p.restartRequired.join(', ')}`);
  return out.join('\n');
}

export interface PlanOptions {
  config: string;
  from?: string;
  socket: string;
  json?: boolean;
}

/** The running agent's config and the members of its `new` rings (none with dataplane.mode none). */
async function running(socket: string): Promise<{ config: Config; live: LiveMembers | undefined }> {
  const reply = await callOnce(socket, 'config', {});
  const config = JSON.parse(reply.json) as Config;
  if (config.dataplane.mode === 'none') return { config, live: undefined };
  const { instances } = await callOnce(socket, 'instances', { service: '' });
  const live = new Map<string, Set<string>>();
  for (const i of instances) {
    const set = live.get(i.service) ?? new Set<string>();
    if (i.inNew) set.add(i.id);
    live.set(i.service, set);
  }
  return { config, live };
}

/** Prints the plan of applying `opts.config`; returns the exit code. */
export async function runPlan(io: CliIo, opts: PlanOptions): Promise<number> {
  const print = (obj: object, text: string) => io.out(`${opts.json ? JSON.stringify(obj) : text}\n`);
  const next = await check(opts.config);
  if (!next.ok) {
    print(
      { ok: false, code: next.error.code, error: next.error.message },
      `${opts.config}: invalid, nothing to plan\n${next.error.message}`,
    );
    return EXIT_USAGE;
  }
  try {
    let before: Config;
    let live: LiveMembers | undefined;
    let against: string;
    if (opts.from !== undefined) {
      const old = await check(opts.from);
      if (!old.ok) {
        print({ ok: false, code: old.error.code, error: old.error.message }, old.error.message);
        return EXIT_USAGE;
      }
      before = publicView(old.config);
      against = opts.from;
    } else {
      ({ config: before, live } = await running(opts.socket));
      against = `the running agent (${before.file})`;
    }
    const plan = buildPlan(before, publicView(next.config), live);
    print(
      { ok: true, file: opts.config, against, plan },
      planText(plan, `plan: ${opts.config} over ${against}`),
    );
    return EXIT_OK;
  } catch (err) {
    return reportError(io, opts.json, err);
  }
}
