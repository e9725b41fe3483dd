// Protobuf encoding of the control API's Request and Reply (src/api/anycastd.proto), with protobufjs.
// The .proto is loaded at runtime (protobufjs loadSync) rather than compiled to static code: one source
// of truth that operators can read and other clients can compile, no generated file to keep in step, and
// the hand-written interfaces of src/api/types.ts are checked against it by a round-trip test.
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { projectRoot } from '../native/addon.js';
import { ApiError, type ApiErrorCode, METHODS, type MethodName, type Methods } from './types.js';

export const PROTO_FILE = join(projectRoot(), 'src/api/anycastd.proto');
const PACKAGE = 'anycastd.v1';
const TO_OBJECT: protobuf.IConversionOptions = {
  defaults: true,
  enums: String,
  longs: Number,
  arrays: true,
  oneofs: true,
};

let types: { request: protobuf.Type; reply: protobuf.Type } | undefined;
function schema(): { request: protobuf.Type; reply: protobuf.Type } {
  if (!types) {
    const root = protobuf.loadSync(PROTO_FILE);
    types = { request: root.lookupType(`${PACKAGE}.Request`), reply: root.lookupType(`${PACKAGE}.Reply`) };
  }
  return types;
}

export interface DecodedRequest<M extends MethodName = MethodName> {
  id: number;
  method: M;
  args: Methods[M]['args'];
}

export type ReplyBody =
  | { error: { code: ApiErrorCode; message: string } }
  | { [M in MethodName]: { method: M; value: Methods[M]['reply'] } }[MethodName];

export function encodeRequest<M extends MethodName>(
  id: number,
  method: M,
  args: Methods[M]['args'],
): Uint8Array {
  const t = schema().request;
  return t.encode(t.fromObject({ id, [method]: args })).finish();
}

/** Decodes a Request; ApiError MALFORMED_REQUEST when it is not one, UNKNOWN_METHOD when it names none we know. */
export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  const t = schema().request;
  let obj: Record<string, unknown>;
  try {
    obj = t.toObject(t.decode(bytes), TO_OBJECT);
  } catch (err) {
    throw new ApiError('MALFORMED_REQUEST', `not a Request message: ${(err as Error).message}`);
  }
  const method = obj.method as string | undefined;
  if (method === undefined || !(METHODS as readonly string[]).includes(method))
    throw new ApiError('UNKNOWN_METHOD', 'the request names no known method');
  return { id: obj.id as number, method: method as MethodName, args: obj[method] as DecodedRequest['args'] };
}

/** Best effort id of a request that failed to decode (0 when even that is unreadable). */
export function requestId(bytes: Uint8Array): number {
  try {
    const r = protobuf.Reader.create(bytes);
    const ID_TAG = (1 << 3) | 0; // field 1, varint
    return r.pos < r.len && r.uint32() === ID_TAG ? r.uint32() : 0;
  } catch {
    return 0;
  }
}

export function encodeReply(id: number, body: ReplyBody): Uint8Array {
  const t = schema().reply;
  const payload = 'error' in body ? { error: body.error } : { [body.method]: body.value };
  return t.encode(t.fromObject({ id, ...payload })).finish();
}

export function decodeReply(bytes: Uint8Array): { id: number; body: ReplyBody } {
  const t = schema().reply;
  const obj = t.toObject(t.decode(bytes), TO_OBJECT);
  const which = obj.result as string | undefined;
  if (which === 'error') return { id: obj.id, body: { error: obj.error } };
  if (which === undefined || !(METHODS as readonly string[]).includes(which))
    throw new ApiError('MALFORMED_REQUEST', 'reply carries no known result');
  return { id: obj.id, body: { method: which, value: obj[which] } as ReplyBody };
}
