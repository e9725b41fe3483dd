// Holds the running config and replaces it on reload (SIGHUP or the CLI) only if the new file is valid
// as a whole; a bad file leaves the running config in place and returns the error for the log.

import { ConfigError } from '../errors.js';
import { type ConfigDiff, diffConfig } from './diff.js';
import { loadConfig } from './load.js';
import type { Config } from './types.js';

export type ReloadResult = { ok: true; config: Config; diff: ConfigDiff } | { ok: false; error: ConfigError };

export class ConfigStore {
  #current: Config;
  readonly #load: (file: string) => Promise<Config>;

  constructor(initial: Config, load: (file: string) => Promise<Config> = loadConfig) {
    this.#current = initial;
    this.#load = load;
  }

  get current(): Config {
    return this.#current;
  }

  /** Loads `file` (default: the running config's file); on success swaps it in and returns the diff. */
  async reload(file: string = this.#current.file): Promise<ReloadResult> {
    let next: Config;
    try {
      next = await this.#load(file);
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, error: err };
      throw err;
    }
    const diff = diffConfig(this.#current, next);
    this.#current = next;
    return { ok: true, config: next, diff };
  }
}
