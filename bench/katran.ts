// Katran's balancer (bench/katran/, vendored, GPL-2.0; built by `make katran`) as the new-flow bench's
// baseline: loaded, given one TCP VIP whose consistent-hash ring names one real (an IPv4 host), a router
// MAC and, for this CPU and every other, its own LRU flow table of `lruSize` entries (lru_mapping, as
// KatranLb makes them: LRU_HASH, no flags), so the same frames take its new-flow and forward paths.
import { join } from 'node:path';
import { BpfMap, BpfObject, type BpfProgram, possibleCpus, projectRoot } from '../src/native/index.js';
import { ipv4Bytes } from '../src/steer/addr.js';

export const KATRAN_OBJECT = join(projectRoot(), 'build/bench/katran_balancer.bpf.o');
const PROGRAM = 'balancer_ingress';
const RING_SIZE = 65537; // balancer_consts.h RING_SIZE
const MAP_TYPE_LRU_HASH = 9;
const FLOW_KEY_SIZE = 40; // struct flow_key: src[16], dst[16], ports, proto (+3 padding)
const REAL_POS_LRU_SIZE = 16; // struct real_pos_lru: pos, (4 padding), atime
const REAL_DEFINITION_SIZE = 20; // struct real_definition: dst[16], flags (+3)
const VIP_DEFINITION_SIZE = 20; // struct vip_definition: vip[16], port, proto (+1)
const REAL_ID = 1; // real ids start at 1 (0 in a ring means "uninitialized")
const VIP_NUM = 0;
const IPPROTO_TCP = 6;

const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);

export interface KatranSpec {
  vip4: string;
  vipPort: number;
  real4: string;
  routerMac: Buffer;
  lruSize: number;
}

/** A loaded Katran with one VIP → one real; `lru(cpu)` is that CPU's flow table. */
export class Katran {
  readonly program: BpfProgram;
  readonly #obj: BpfObject;
  readonly #lrus: BpfMap[] = [];
  readonly #spec: KatranSpec;

  private constructor(obj: BpfObject, spec: KatranSpec) {
    this.#obj = obj;
    this.#spec = spec;
    this.program = obj.program(PROGRAM);
  }

  static open(spec: KatranSpec): Katran {
    const obj = BpfObject.open(KATRAN_OBJECT);
    try {
      obj.load();
      const k = new Katran(obj, spec);
      k.#configure();
      return k;
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  #configure(): void {
    const s = this.#spec;
    const vip = Buffer.alloc(VIP_DEFINITION_SIZE);
    ipv4Bytes(s.vip4).copy(vip, 0);
    vip.writeUInt16BE(s.vipPort, 16);
    vip.writeUInt8(IPPROTO_TCP, 18);
    this.#obj.map('vip_map').update(vip, Buffer.concat([u32(0), u32(VIP_NUM)]));
    const real = Buffer.alloc(REAL_DEFINITION_SIZE);
    ipv4Bytes(s.real4).copy(real, 0);
    this.#obj.map('reals').update(u32(REAL_ID), real);
    const keys = Array.from({ length: RING_SIZE }, (_, i) => u32(VIP_NUM * RING_SIZE + i));
    this.#obj.map('ch_rings').updateBatch(
      keys,
      keys.map(() => u32(REAL_ID)),
    );
    const mac = Buffer.alloc(8);
    s.routerMac.copy(mac, 0, 0, 6);
    this.#obj.map('ctl_array').update(u32(0), mac);
    this.freshTables();
  }

  /** Gives every CPU a new, empty LRU flow table (the old ones are closed). */
  freshTables(): void {
    for (const m of this.#lrus.splice(0)) m.close();
    for (let cpu = 0; cpu < possibleCpus(); cpu++) {
      const lru = BpfMap.create({
        type: MAP_TYPE_LRU_HASH,
        name: `katran_lru${cpu}`,
        keySize: FLOW_KEY_SIZE,
        valueSize: REAL_POS_LRU_SIZE,
        maxEntries: this.#spec.lruSize,
      });
      this.#lrus.push(lru);
      this.#obj.map('lru_mapping').update(u32(cpu), u32(lru.fd));
    }
  }

  /** This CPU's flow table. */
  lru(cpu: number): BpfMap {
    return this.#lrus[cpu]!;
  }

  /** Katran's flow key of an IPv4 TCP flow (as its parser builds it: addresses and ports as on the wire). */
  static flowKey(src4: string, dst4: string, sport: number, dport: number): Buffer {
    const k = Buffer.alloc(FLOW_KEY_SIZE);
    ipv4Bytes(src4).copy(k, 0);
    ipv4Bytes(dst4).copy(k, 16);
    k.writeUInt16BE(sport, 32);
    k.writeUInt16BE(dport, 34);
    k.writeUInt8(IPPROTO_TCP, 36);
    return k;
  }

  /** The value of a flow-table entry naming the one real. */
  static flowVal(): Buffer {
    const v = Buffer.alloc(REAL_POS_LRU_SIZE);
    v.writeUInt32LE(REAL_ID, 0);
    return v;
  }

  close(): void {
    for (const m of this.#lrus.splice(0)) m.close();
    this.#obj.close();
  }
}
