// The data plane's capacities a config is checked against (semantics.ts), so `anycastd check` and a
// config load refuse what the agent could not start with. They are bpf/steer.h's MAX_VIPS and
// MAX_SERVICES (src/steer/layout.ts mirrors them; test/config/limits.test.ts and limits.slow.test.ts
// hold the three together): the config layer may not import the steering layer. The rings map's room and memory are here too:
// its capacity is set at load from the configured services (dataplane.max_services), its value from
// dataplane.ring_size, so it costs what the config needs (bpf/steer.h `struct ring`).

/** VIP/port entries: every service's VIPs × its ports, summed (the program's vip_stats entries). */
export const MAX_VIP_ENTRIES = 16_384;
/** Services (the program's services entries, 16 B each). */
export const MAX_SERVICES = 4096;
/** The rings map's room when a config names fewer services (and max_services is not set). */
export const MIN_RING_SERVICES = 16;
/** Rings per service in the rings map: (live + previous) × two kinds (bpf/steer.h RING_SLOTS). */
export const RING_SLOTS = 4;

/**
 * The services the rings map has room for: dataplane.max_services, else the configured count rounded up
 * to a power of two (at least MIN_RING_SERVICES) so that a reload adding services usually fits; more
 * than this needs a restart (the map is sized when the program loads).
 */
export function ringServices(configured: number, maxServices: number | null): number {
  if (maxServices !== null) return maxServices;
  let n = MIN_RING_SERVICES;
  while (n < configured) n *= 2;
  return Math.min(n, MAX_SERVICES);
}

/** Bytes of one rings-map value: ring_size u32 entries, the kernel's stride rounded up to 8 bytes. */
export const ringValueBytes = (ringSize: number): number => Math.ceil((4 * ringSize) / 8) * 8;

/** Kernel memory of the rings map for `services` services (4 rings each) of `ringSize` entries. */
export const ringsBytes = (services: number, ringSize: number): number =>
  services * RING_SLOTS * ringValueBytes(ringSize);

/** The VIP/port entries a set of services needs: one per VIP and port of each. */
export const vipEntryCount = (services: readonly { vips: readonly unknown[]; ports: readonly unknown[] }[]) =>
  services.reduce((n, s) => n + s.vips.length * s.ports.length, 0);
