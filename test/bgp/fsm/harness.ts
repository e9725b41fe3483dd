// Test harness for the FSM: an FSM wired to the shared FakeClock (test/helpers/fake-clock.ts; the FSM is
// synchronous, so tests move it with advanceSync) with jitter pinned, helpers to drive it into each state, and a compact view of the actions it emitted.

import { BgpCodecError } from '../../../src/bgp/codec/errors.js';
import type { OpenMessage } from '../../../src/bgp/codec/open.js';
import { Fsm, type FsmAction, type FsmConfig, type FsmState } from '../../../src/bgp/fsm.js';
import { FakeClock } from '../../helpers/fake-clock.js';

export const LOCAL: FsmConfig = { localAs: 65001, localId: '192.0.2.1', peerAs: 65002, holdTime: 90 };

export const PEER_OPEN: OpenMessage = {
  version: 4,
  myAs: 65002,
  holdTime: 90,
  bgpId: '192.0.2.2',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'four-octet-as', asn: 65002 },
  ],
};

export function make(cfg: Partial<FsmConfig> = {}, random = () => 1) {
  const actions: FsmAction[] = [];
  const clock = new FakeClock();
  const fsm = new Fsm({ ...LOCAL, ...cfg }, { output: (a) => actions.push(a), clock, random });
  return { fsm, actions, clock };
}

/** Drive a fresh FSM into `state` (Active through a passive start, unless `activeVia` says otherwise). */
export function reach(h: ReturnType<typeof make>, state: FsmState): void {
  const { fsm } = h;
  if (state === 'idle') return;
  if (state === 'active') {
    fsm.handle({ type: 'manual-start' });
    if (fsm.state === 'connect') {
      fsm.handle({ type: 'tcp-cr-acked' });
      fsm.handle({ type: 'tcp-connection-fails' }); // OpenSent → Active
    }
    return;
  }
  fsm.handle({ type: 'manual-start' });
  if (state === 'connect') return;
  fsm.handle({ type: 'tcp-cr-acked' });
  if (state === 'open-sent') return;
  fsm.handle({ type: 'bgp-open', open: PEER_OPEN });
  if (state === 'open-confirm') return;
  fsm.handle({ type: 'keepalive-msg' });
}

/** The emitted actions without timer bookkeeping, as short strings. */
export function brief(actions: readonly FsmAction[]): string[] {
  return actions.flatMap((a) => {
    switch (a.type) {
      case 'timer-start':
      case 'timer-stop':
        return [];
      case 'send-notification':
        return [`notify ${a.code}/${a.subcode}${a.data.length ? ` ${a.data.toString('hex')}` : ''}`];
      case 'state-change':
        return [`${a.from} -> ${a.to} (${a.reason})`];
      case 'session-up':
        return [`session-up hold ${a.negotiated.holdTime} keepalive ${a.negotiated.keepaliveTime}`];
      case 'session-down':
        return [`session-down (${a.reason})`];
      default:
        return [a.type];
    }
  });
}

export function timerStarts(actions: readonly FsmAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'timer-start' ? [`${a.timer} ${a.ms}`] : []));
}

export function codecErr(code: number, subcode: number, reason: string): BgpCodecError {
  return new BgpCodecError({ notifyCode: code, notifySubcode: subcode, reason });
}
