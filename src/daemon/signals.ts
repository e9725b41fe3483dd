// The signals of `anycastd run`, taken over from the start (a SIGHUP while starting must not kill the
// process): SIGHUP reloads the config once the agent runs, the first SIGTERM or SIGINT stops it (also one
// that came during start). Each reload is told to systemd (RELOADING=1 … READY=1, sd_notify(3)) with a
// STATUS= line saying what runs and whether the reload was refused.
import type { Agent } from '../agent/agent.js';
import type { Config } from '../config/types.js';
import type { SystemdNotifier } from '../native/notify.js';

export class Signals {
  #agent: Agent | null = null;
  #stop: NodeJS.Signals | null = null;
  #wake: ((signal: NodeJS.Signals) => void) | null = null;
  readonly #notifier: SystemdNotifier;
  readonly #onHup = (): void => {
    const agent = this.#agent;
    if (!agent) return;
    this.#notifier.reloading('reloading the config (SIGHUP)');
    void agent.reload().then(
      (result) =>
        this.#notifier.ready(runningStatus(agent.config, result.ok ? undefined : 'reload rejected')),
      () => this.#notifier.ready(runningStatus(agent.config, 'reload failed')),
    );
  };
  readonly #onStop = (signal: NodeJS.Signals): void => {
    this.#stop ??= signal;
    this.#wake?.(signal);
  };

  constructor(notifier: SystemdNotifier) {
    this.#notifier = notifier;
    process.on('SIGHUP', this.#onHup);
    process.on('SIGTERM', this.#onStop);
    process.on('SIGINT', this.#onStop);
  }

  /** Serves SIGHUP for `agent` until a stop signal; resolves with it. */
  run(agent: Agent): Promise<NodeJS.Signals> {
    this.#agent = agent;
    if (this.#stop) return Promise.resolve(this.#stop);
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  close(): void {
    process.off('SIGHUP', this.#onHup);
    process.off('SIGTERM', this.#onStop);
    process.off('SIGINT', this.#onStop);
  }
}

/** The STATUS= line while running: what is served, and the last reload's trouble if any. */
export function runningStatus(config: Config, trouble?: string): string {
  const s = `running: ${config.services.length} services, ${config.peers.length} peers, XDP on ${config.node.uplinks.join(',')}`;
  return trouble ? `${s} (${trouble}; the running config is kept)` : s;
}
