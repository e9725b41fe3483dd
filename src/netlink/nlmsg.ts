// Netlink message codec (RFC 3549 framing): build a request (nlmsghdr + fixed family header +
// attributes, 4-byte aligned) and read replies' attributes. Pure functions on Buffers; the binding
// (src/native/) only sends and receives. Families: rtnetlink (rtnl-codec.ts, route.ts, used by
// src/native/rtnl.ts) and sock_diag (src/native/sockdiag.ts).

/** linux/netlink.h */
export const NLMSG_HDRLEN = 16;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
const NLA_HDRLEN = 4;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;
const ALIGN = 4;

export const align = (n: number): number => (n + ALIGN - 1) & ~(ALIGN - 1);

/** One attribute: its header, then `value`, padded to 4 bytes. */
export function attr(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(align(NLA_HDRLEN + value.length));
  out.writeUInt16LE(NLA_HDRLEN + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, NLA_HDRLEN);
  return out;
}

export function attrU32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
}
/** A NUL-terminated string attribute. */
export const attrString = (type: number, s: string): Buffer => attr(type, Buffer.from(`${s}\0`, 'utf8'));
/** A nested attribute holding `children` (NLA_F_NESTED set). */
export const attrNested = (type: number, children: Buffer[]): Buffer =>
  attr(type | NLA_F_NESTED, Buffer.concat(children));

/** A whole request: nlmsghdr, the family's fixed header, then attributes. */
export function message(
  type: number,
  flags: number,
  seq: number,
  fixed: Buffer,
  attrs: Buffer[] = [],
): Buffer {
  const body = Buffer.concat([fixed, Buffer.alloc(align(fixed.length) - fixed.length), ...attrs]);
  const hdr = Buffer.alloc(NLMSG_HDRLEN);
  hdr.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  hdr.writeUInt16LE(type, 4);
  hdr.writeUInt16LE(flags | NLM_F_REQUEST, 6);
  hdr.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([hdr, body]);
}

/** nlmsg_type of a reply. */
export const messageType = (msg: Buffer): number => msg.readUInt16LE(4);

/** The fixed family header of a reply (`size` bytes after nlmsghdr). */
export const fixedHeader = (msg: Buffer, size: number): Buffer =>
  msg.subarray(NLMSG_HDRLEN, NLMSG_HDRLEN + size);

/** Attributes by type (the first of each type; nested flag masked off). */
export type Attrs = Map<number, Buffer>;

/** Parses the attributes in `buf` from `offset` to the end. */
export function parseAttrs(buf: Buffer, offset = 0): Attrs {
  const out: Attrs = new Map();
  for (const [type, value] of attrList(buf, offset)) if (!out.has(type)) out.set(type, value);
  return out;
}

/** Every attribute in order, as [type, value] (for repeated types). */
export function attrList(buf: Buffer, offset = 0): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.push([buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len)]);
    off += align(len);
  }
  return out;
}

/** The attributes of a reply whose fixed header is `fixedSize` bytes. */
export const replyAttrs = (msg: Buffer, fixedSize: number): Attrs =>
  parseAttrs(msg, NLMSG_HDRLEN + align(fixedSize));

export const u32Of = (b: Buffer | undefined): number | undefined => b?.readUInt32LE(0);
/** A NUL-terminated string attribute's text. */
export const stringOf = (b: Buffer | undefined): string | undefined =>
  b?.toString('utf8').replace(/\0.*$/s, '');
