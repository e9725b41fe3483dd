// Building the UPDATEs this speaker sends (RFC 4271 §5.1, §9.2) from the routes it exports: ORIGIN
// IGP, AS_PATH = the local AS (plus prepends; empty towards an iBGP peer, with LOCAL_PREF), NEXT_HOP
// = the session's local IPv4 address, or MP_REACH_NLRI (RFC 4760) with the session's IPv6 next hop
// (global, or global + link-local, RFC 2545 §3); IPv4 NLRI over an IPv6 session with an IPv6 next
// hop when extended next hop was negotiated (RFC 8950); MED, communities (RFC 1997, GRACEFUL_SHUTDOWN
// of RFC 8326 among them) and large communities (RFC 8092). Routes with equal attributes share an
// UPDATE; every UPDATE fits in 4096 octets. End-of-RIB markers per RFC 4724 §2.

import type { ExportAttributes } from './announcer.js';
import type { AttrContext, PathAttributes } from './codec/attributes/types.js';
import type { AfiSafi } from './codec/capabilities.js';
import { Afi, MAX_MESSAGE_LENGTH, Origin, Safi } from './codec/constants.js';
import { encodedPrefixLength, type Prefix } from './codec/prefix.js';
import { encodeUpdate, type UpdateMessage } from './codec/update.js';
import type { RibOutRoute } from './rib.js';

/** RFC 4271 §5.1.5: the usual LOCAL_PREF towards iBGP peers. */
export const DEFAULT_LOCAL_PREF = 100;
/** Room kept for the extended-length octet an attribute may grow when its NLRI are added. */
const EXTENDED_LENGTH_MARGIN = 2;

/** What a session contributes to the UPDATEs sent on it. */
export interface ExportSession {
  localAs: number;
  /** The peer is in the local AS. */
  ibgp: boolean;
  /** Families negotiated on the session (RFC 4760). */
  families: readonly AfiSafi[];
  /** Extended next hop for IPv4 unicast was negotiated (RFC 8950). */
  extendedNextHop: boolean;
  /** The session's local IPv4 address (the NEXT_HOP of IPv4 routes), if it has one. */
  ipv4NextHop?: string;
  /** The session's IPv6 next hop: [global] or [global, link-local]. */
  ipv6NextHops?: string[];
}

/** The peer's own communities added to what the agent asked for; sorted and without repeats. */
export function withPeerCommunities(
  a: ExportAttributes,
  communities: readonly number[],
  large: readonly NonNullable<ExportAttributes['largeCommunities']>[number][],
): ExportAttributes {
  const out: ExportAttributes = {};
  if (a.med !== undefined) out.med = a.med;
  if (a.prepend) out.prepend = a.prepend;
  const c = [...new Set([...(a.communities ?? []), ...communities])].sort((x, y) => x - y);
  if (c.length > 0) out.communities = c;
  const seen = new Map<string, (typeof large)[number]>();
  for (const l of [...(a.largeCommunities ?? []), ...large])
    seen.set(`${l.global}:${l.local1}:${l.local2}`, l);
  if (seen.size > 0)
    out.largeCommunities = [...seen.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, l]) => l);
  return out;
}

/** A stable text form of export attributes: equal text, equal UPDATE. */
export function exportSignature(a: ExportAttributes): string {
  const large = (a.largeCommunities ?? []).map((l) => `${l.global}:${l.local1}:${l.local2}`).join(',');
  return `med=${a.med ?? ''};prepend=${a.prepend ?? 0};c=${(a.communities ?? []).join(',')};lc=${large}`;
}

/** Path attributes of an exported route, without next hop (that depends on the family). */
export function pathAttributes(
  a: ExportAttributes,
  s: Pick<ExportSession, 'localAs' | 'ibgp'>,
): PathAttributes {
  const asns = s.ibgp ? [] : new Array<number>(1 + (a.prepend ?? 0)).fill(s.localAs);
  const p: PathAttributes = {
    origin: Origin.IGP,
    asPath: asns.length > 0 ? [{ type: 'sequence', asns }] : [],
  };
  if (a.med !== undefined) p.med = a.med;
  if (s.ibgp) p.localPref = DEFAULT_LOCAL_PREF;
  if (a.communities?.length) p.communities = [...a.communities];
  if (a.largeCommunities?.length) p.largeCommunities = a.largeCommunities.map((l) => ({ ...l }));
  return p;
}

function negotiated(s: ExportSession, afi: number): boolean {
  return s.families.some((f) => f.afi === afi && f.safi === Safi.UNICAST);
}

/** How a prefix goes out on this session: classic IPv4 fields, MP attributes, or not at all. */
export function carriage(p: Prefix, s: ExportSession): 'classic' | 'mp' | undefined {
  if (!negotiated(s, p.afi)) return undefined;
  if (p.afi === Afi.IPV6) return s.ipv6NextHops?.length ? 'mp' : undefined;
  if (s.ipv4NextHop) return 'classic';
  return s.extendedNextHop && s.ipv6NextHops?.length ? 'mp' : undefined;
}

/** Can this session carry the prefix at all? */
export function canExport(p: Prefix, s: ExportSession): boolean {
  return carriage(p, s) !== undefined;
}

function contextOf(s: ExportSession): AttrContext {
  return { as4: true, ebgp: !s.ibgp };
}

/** Split `prefixes` into runs that fit after a message of `base` octets. */
function chunks(prefixes: readonly Prefix[], base: number): Prefix[][] {
  const room = MAX_MESSAGE_LENGTH - base - EXTENDED_LENGTH_MARGIN;
  const out: Prefix[][] = [];
  let cur: Prefix[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = encodedPrefixLength(p);
    if (used + n > room && cur.length > 0) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** UPDATEs announcing `prefixes` (all of one carriage and family) with `attrs`. */
function announceFamily(
  prefixes: Prefix[],
  attrs: PathAttributes,
  how: 'classic' | 'mp',
  afi: number,
  s: ExportSession,
): Partial<UpdateMessage>[] {
  const ctx = contextOf(s);
  const template = (nlri: Prefix[]): Partial<UpdateMessage> =>
    how === 'classic'
      ? { attributes: { ...attrs, nextHop: s.ipv4NextHop! }, nlri }
      : { attributes: { ...attrs, mpReach: { afi, safi: Safi.UNICAST, nextHops: s.ipv6NextHops!, nlri } } };
  const base = encodeUpdate(template([]), ctx).length;
  return chunks(prefixes, base).map(template);
}

/** UPDATEs withdrawing `prefixes` (of one carriage and family). */
function withdrawFamily(
  prefixes: Prefix[],
  how: 'classic' | 'mp',
  afi: number,
  s: ExportSession,
): Partial<UpdateMessage>[] {
  const template = (list: Prefix[]): Partial<UpdateMessage> =>
    how === 'classic'
      ? { withdrawn: list }
      : { attributes: { mpUnreach: { afi, safi: Safi.UNICAST, withdrawn: list } } };
  const base = encodeUpdate(template([]), contextOf(s)).length;
  return chunks(prefixes, base).map(template);
}

/** Group prefixes by (carriage, family); prefixes the session cannot carry are left out. */
function byCarriage(
  prefixes: readonly Prefix[],
  s: ExportSession,
): Map<string, { how: 'classic' | 'mp'; afi: number; list: Prefix[] }> {
  const groups = new Map<string, { how: 'classic' | 'mp'; afi: number; list: Prefix[] }>();
  for (const p of prefixes) {
    const how = carriage(p, s);
    if (!how) continue;
    const key = `${how}/${p.afi}`;
    const g = groups.get(key) ?? { how, afi: p.afi, list: [] };
    g.list.push(p);
    groups.set(key, g);
  }
  return groups;
}

/**
 * The UPDATEs that take a peer from what it has to what it should have: `withdrawn` first, then
 * `announced` grouped by equal attributes. Prefixes the session cannot carry are skipped.
 */
export function buildUpdates(
  announced: readonly RibOutRoute<ExportAttributes>[],
  withdrawn: readonly Prefix[],
  s: ExportSession,
): Partial<UpdateMessage>[] {
  const out: Partial<UpdateMessage>[] = [];
  for (const g of byCarriage(withdrawn, s).values()) out.push(...withdrawFamily(g.list, g.how, g.afi, s));
  const bySignature = new Map<string, { attrs: ExportAttributes; prefixes: Prefix[] }>();
  for (const r of announced) {
    const sig = exportSignature(r.attributes);
    const e = bySignature.get(sig) ?? { attrs: r.attributes, prefixes: [] };
    e.prefixes.push(r.prefix);
    bySignature.set(sig, e);
  }
  for (const { attrs, prefixes } of bySignature.values()) {
    const path = pathAttributes(attrs, s);
    for (const g of byCarriage(prefixes, s).values())
      out.push(...announceFamily(g.list, path, g.how, g.afi, s));
  }
  return out;
}

/** RFC 4724 §2: End-of-RIB is an empty UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise. */
export function endOfRibUpdate(afi: number): Partial<UpdateMessage> {
  return afi === Afi.IPV4 ? {} : { attributes: { mpUnreach: { afi, safi: Safi.UNICAST, withdrawn: [] } } };
}
