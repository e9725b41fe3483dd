// Drain state of the local instance of a service: an in-memory flag (anycastd drain/undrain) OR the
// existence of the service's drain file. The file is watched with fs.watch on its directory (immediate)
// and also polled on the injected clock (the directory may not exist yet, and inotify misses some cases,
// e.g. bind mounts).

import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';

export const DEFAULT_DRAIN_POLL_MS = 1000;

export type DrainSource = 'flag' | 'file';

export class DrainControl {
  readonly file: string;
  readonly #onChange: (drained: boolean, source: DrainSource) => void;
  readonly #pollMs: number;
  readonly #clock: Clock;
  #flag = false;
  #fileExists = false;
  #timer: TimerHandle = null;
  #watcher: FSWatcher | null = null;

  constructor(
    file: string,
    onChange: (drained: boolean, source: DrainSource) => void,
    pollMs = DEFAULT_DRAIN_POLL_MS,
    clock: Clock = systemClock,
  ) {
    this.file = file;
    this.#onChange = onChange;
    this.#pollMs = pollMs;
    this.#clock = clock;
  }

  get drained(): boolean {
    return this.#flag || this.#fileExists;
  }

  /** Sets the in-memory flag (the CLI's drain / undrain). */
  setFlag(drained: boolean): void {
    const before = this.drained;
    this.#flag = drained;
    if (this.drained !== before) this.#onChange(this.drained, 'flag');
  }

  start(): void {
    this.#fileExists = this.#exists();
    if (this.#fileExists) this.#onChange(true, 'file');
    this.#timer = this.#clock.setInterval(() => this.check(), this.#pollMs, { unref: true });
    try {
      const name = basename(this.file);
      this.#watcher = watch(dirname(this.file), (_event, f) => {
        if (f === null || f === name) this.check();
      });
      this.#watcher.unref();
    } catch {
      // The directory does not exist (yet): polling covers it.
    }
  }

  /** Looks at the drain file now. */
  check(): void {
    const exists = this.#exists();
    if (exists === this.#fileExists) return;
    const before = this.drained;
    this.#fileExists = exists;
    if (this.drained !== before) this.#onChange(this.drained, 'file');
  }

  stop(): void {
    this.#clock.clearInterval(this.#timer);
    this.#watcher?.close();
    this.#timer = null;
    this.#watcher = null;
  }

  #exists(): boolean {
    try {
      statSync(this.file);
      return true;
    } catch {
      return false;
    }
  }
}
