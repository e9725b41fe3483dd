// What a starting agent does with the maps pinned by the program before it (bpf/steer.h "layout"): the
// pins carry a layout version (the pinned pin_layout map; none = layout 1), the object carries its own
// and the oldest it migrates from (rodata layout_version, layout_compat). Pins of the object's version
// are adopted as they are; pins of an older version the object migrates from are adopted map by map
// where the shape is the same, copied into the object's wider map where a value grew by appended fields
// or a capacity grew, and made anew where the object has a map the pins lack. Anything else is refused
// before anything changes: a newer layout (a downgrade), one older than the object's compat, or a map
// whose shape changed otherwise. A resizable map (the flow table: its capacity is configured) pinned at
// another capacity, same type, key and value, is migrated at any layout version: its entries are copied
// into the new size (a smaller table keeps what fits; the LRU drops the least recently used), so a
// change of dataplane.flow_table_size keeps the flows. A revalued map (the rings: value 4 × ring_size,
// capacity from the configured services) pinned with another value size or capacity, same type and key,
// is migrated at any version too; the caller copies its entries only where the value size is the same.
import { AnycastdError } from '../errors.js';

/** A map's kernel shape, as pinned or as the object declares it. */
export interface MapShape {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

export interface ObjectLayout {
  readonly version: number;
  /** The oldest pinned layout the object migrates from. */
  readonly compat: number;
}

export interface PinPlan {
  /** The pins' layout version; null when nothing was pinned. */
  readonly pinnedVersion: number | null;
  /** Pins used as they are. */
  readonly adopt: string[];
  /** Pins copied into the object's map of a wider value or larger capacity (the pin replaced after the swap). */
  readonly migrate: string[];
  /** Maps the pins lack: made by load, pinned. */
  readonly create: string[];
  /** Pins of maps the object no longer has: removed after the swap. */
  readonly stale: string[];
}

/**
 * Pins beside the maps that are links, not maps: not part of the map layout (never planned, adopted or
 * migrated); each start replaces its own. The flow reaper's (steer/flow-reaper-kernel.ts). An agent older
 * than the reaper program takes it for a map it does not have and refuses the pins (ERR_PIN_LAYOUT naming
 * it): to go back to one, remove that pin first.
 */
export const REAPER_LINK_PIN = 'flow_reaper';
export const LINK_PINS: ReadonlySet<string> = new Set([REAPER_LINK_PIN]);

/** The layout of pins left before the layout had a version (no pin_layout map). */
export const UNVERSIONED_LAYOUT = 1;

const describe = (s: MapShape): string =>
  `type ${s.type}, key ${s.keySize} B, value ${s.valueSize} B, ${s.maxEntries} entries`;

/** Can `pinned` be copied into `wanted`: same type and key, the value and capacity no smaller. */
export function migratable(pinned: MapShape, wanted: MapShape): boolean {
  return (
    pinned.type === wanted.type &&
    pinned.keySize === wanted.keySize &&
    pinned.valueSize <= wanted.valueSize &&
    pinned.maxEntries <= wanted.maxEntries
  );
}

const resized = (a: MapShape, b: MapShape): boolean =>
  a.type === b.type &&
  a.keySize === b.keySize &&
  a.valueSize === b.valueSize &&
  a.maxEntries !== b.maxEntries;

const revaluedOrResized = (a: MapShape, b: MapShape): boolean =>
  a.type === b.type && a.keySize === b.keySize && !sameShape(a, b);

const sameShape = (a: MapShape, b: MapShape): boolean =>
  a.type === b.type &&
  a.keySize === b.keySize &&
  a.valueSize === b.valueSize &&
  a.maxEntries === b.maxEntries;

/**
 * The plan for the pins in `where`: `pinned` (name → shape of each pin there), `pinnedVersion` (from its
 * pin_layout; null: none), `wanted` (the object's pinned maps), `resizable` (maps whose capacity may
 * differ from the pin's at any version: migrated), `revalued` (maps whose value size and capacity may
 * differ at any version: migrated). Throws ERR_PIN_LAYOUT naming the pins' and the
 * object's layouts (and the map) when the pins can be neither adopted nor migrated.
 */
export function planPins(
  where: string,
  pinned: ReadonlyMap<string, MapShape>,
  pinnedVersion: number | null,
  wanted: ReadonlyMap<string, MapShape>,
  object: ObjectLayout,
  resizable: ReadonlySet<string> = new Set(),
  revalued: ReadonlySet<string> = new Set(),
): PinPlan {
  const plan: PinPlan = { pinnedVersion: null, adopt: [], migrate: [], create: [], stale: [] };
  if (pinned.size === 0) return { ...plan, create: [...wanted.keys()] };
  const version = pinnedVersion ?? UNVERSIONED_LAYOUT;
  const refuse = (why: string): never => {
    throw new AnycastdError(
      'ERR_PIN_LAYOUT',
      `pinned maps in ${where} are layout ${version}, this program's is ${object.version} (it migrates ` +
        `layouts ${object.compat}..${object.version}): ${why}; nothing was changed, the running program ` +
        `and its pins are left as they are (to start afresh, losing every flow: remove ${where})`,
    );
  };
  if (version > object.version) refuse('they were left by a newer agent');
  if (version < object.compat) refuse('too old to migrate');
  for (const [name, want] of wanted) {
    const have = pinned.get(name);
    if (!have) plan.create.push(name);
    else if (sameShape(have, want)) plan.adopt.push(name);
    else if (resizable.has(name) && resized(have, want)) plan.migrate.push(name);
    else if (revalued.has(name) && revaluedOrResized(have, want)) plan.migrate.push(name);
    else if (version < object.version && migratable(have, want)) plan.migrate.push(name);
    else refuse(`map ${name} is pinned as ${describe(have)}, the program wants ${describe(want)}`);
  }
  for (const name of pinned.keys()) if (!wanted.has(name)) plan.stale.push(name);
  if (version === object.version && plan.stale.length > 0)
    refuse(`pins the program does not have: ${plan.stale.join(', ')}`);
  return { ...plan, pinnedVersion: version };
}
