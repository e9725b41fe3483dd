// A lease this agent held before, taken up again: after a store outage etcd renews every lease it had
// for one TTL, so an agent that lost touch keeps its lease — and its keys, which never leave the store —
// by asking etcd whether the lease is still there (LeaseTimeToLive) and keeping it alive (LeaseKeepAlive),
// instead of granting a new one and writing its keys again (an agent that writes later than one TTL
// after the store's return would see its instances leave every ring for a moment: a flap). The etcd
// client library cannot adopt a lease id, so this speaks the two calls through the library's gRPC
// clients. Keepalives every TTL / 3, as the library's own leases; the lease is lost when etcd answers
// TTL 0 (expired) or nothing got through for twice the TTL. Its timers run in real time, as etcd's TTL.

import { EventEmitter } from 'node:events';
import type {
  Etcd3,
  IDuplexStream,
  ILeaseKeepAliveRequest,
  ILeaseKeepAliveResponse,
  PutBuilder,
} from 'etcd3';
import { type Clock, systemClock, type TimerHandle } from '../../clock.js';

const MS_PER_S = 1000;
/** Keepalives per TTL (the library's and etcd's Go client's rate). */
const KEEPALIVES_PER_TTL = 3;
/** A broken keepalive stream is opened again after this. */
const REOPEN_MS = 100;
/** No keepalive answered for this many TTLs: the lease is lost. */
const LOST_AFTER_TTLS = 2;

/** The lease's remaining TTL in seconds as etcd says it (≤ 0: gone), or null when etcd does not answer. */
export async function leaseTtlLeft(client: Etcd3, id: string): Promise<number | null> {
  try {
    return Number((await client.leaseClient.leaseTimeToLive({ ID: id })).TTL);
  } catch {
    return null;
  }
}

export interface KeptLeaseEvents {
  lost: [Error];
}

export class KeptLease extends EventEmitter<KeptLeaseEvents> {
  readonly id: string;
  readonly #client: Etcd3;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  #stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | null = null;
  #timer: TimerHandle = null;
  #last: number;
  #closed = false;

  /** Keeps lease `id` (of `ttlS` seconds) alive from now on. */
  constructor(client: Etcd3, id: string, ttlS: number, clock: Clock = systemClock) {
    super();
    this.#client = client;
    this.id = id;
    this.#ttlMs = ttlS * MS_PER_S;
    this.#clock = clock;
    this.#last = clock.now();
    this.#tick();
  }

  put(key: string): PutBuilder {
    return this.#client.put(key).lease(this.id);
  }

  async revoke(): Promise<void> {
    this.release();
    await this.#client.leaseClient.leaseRevoke({ ID: this.id });
  }

  release(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#stream?.end();
    this.#stream = null;
  }

  #lose(detail: string): void {
    if (this.#closed) return;
    this.release();
    this.emit('lost', new Error(`lease ${this.id}: ${detail}`));
  }

  /** One keepalive (opening the stream if needed), then the next in TTL / 3. */
  #tick(): void {
    if (this.#closed) return;
    if (this.#clock.now() - this.#last > LOST_AFTER_TTLS * this.#ttlMs) {
      this.#lose(`no keepalive answered for ${LOST_AFTER_TTLS} × its TTL`);
      return;
    }
    void this.#send().then((ok) => {
      if (this.#closed) return;
      this.#timer = this.#clock.setTimeout(
        () => this.#tick(),
        ok ? this.#ttlMs / KEEPALIVES_PER_TTL : REOPEN_MS,
        { unref: true },
      );
    });
  }

  async #send(): Promise<boolean> {
    try {
      if (!this.#stream) {
        const s = await this.#client.leaseClient.leaseKeepAlive();
        if (this.#closed) {
          s.end();
          return false;
        }
        s.on('data', (res: ILeaseKeepAliveResponse) => {
          if (res.TTL === '0') this.#lose('etcd says it expired');
          else this.#last = this.#clock.now();
        });
        const gone = (): void => {
          if (this.#stream === s) this.#stream = null;
        };
        s.on('error', gone);
        s.on('end', gone);
        this.#stream = s;
      }
      this.#stream.write({ ID: this.id });
      return true;
    } catch {
      this.#stream = null;
      return false;
    }
  }
}
