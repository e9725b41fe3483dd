// Maps a key path of the parsed config back to its line and column in the YAML text, through the
// document's node ranges and a LineCounter. A path that does not exist in the file (a missing key) is
// placed at the closest existing ancestor; an unknown key is placed at the key itself.

import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export type Path = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

function startOf(node: unknown): number | undefined {
  const range = (node as Node | null)?.range;
  return range ? range[0] : undefined;
}

/** Offset of `path` in the document: its value, or its key when `atKey` (or when the value is empty). */
function offsetOf(doc: Document, path: Path, atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) return offset;
      const keyAt = startOf(pair.key) ?? offset;
      node = pair.value;
      offset = last && atKey ? keyAt : (startOf(node) ?? keyAt);
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      offset = startOf(node) ?? offset;
    } else return offset;
  }
  return offset;
}

export function locate(doc: Document, counter: LineCounter, path: Path, atKey = false): Position {
  const { line, col } = counter.linePos(offsetOf(doc, path, atKey));
  return { line, column: col };
}

/** The raw (pre-schema) value at `path`, or undefined when absent. */
export function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** `services[0].checks[1].timeout` */
export function formatPath(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}
