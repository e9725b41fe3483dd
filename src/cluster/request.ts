// The cluster endpoint's request checks, each total (no input throws): the method, the request target
// (origin form, the one path), that a GET carries no body, and the query (`since`, `wait`, nothing
// else, each at most once). A failure is a status and a plain-text message naming what is wrong; what
// the client sent is quoted shortened, never echoed whole.

import type { IncomingMessage } from 'node:http';
import type { RequestRefusal } from './counters.js';
import { MAX_TOKEN_CHARS, MAX_WAIT_MS } from './limits.js';
import { INSTANCES_PATH } from './report.js';

export interface Refusal {
  status: number;
  reason: RequestRefusal;
  message: string;
}

export interface PollQuery {
  /** The token the client holds ('' : none). */
  since: string;
  /** How long to hold the reply for a change (ms, 0: at once). */
  wait: number;
}

const QUOTE_CHARS = 64;
const WAIT_RE = /^\d{1,6}$/;
const TOKEN_RE = /^[0-9a-f.]*$/;
const QUERY_KEYS: ReadonlySet<string> = new Set(['since', 'wait']);

/** `s` quoted for a message, cut to a few dozen characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > QUOTE_CHARS ? `${s.slice(0, QUOTE_CHARS)}…` : s);
}

const refuse = (status: number, reason: RequestRefusal, message: string): Refusal => ({
  status,
  reason,
  message,
});

/** The method, target and body checks, done before the signature is; null when the request may go on. */
export function checkRequestLine(req: IncomingMessage): Refusal | null {
  if (req.method !== 'GET') return refuse(405, 'method', `method ${quote(req.method ?? '')}: use GET`);
  const target = req.url ?? '';
  if (!target.startsWith('/'))
    return refuse(
      400,
      'malformed',
      `request target ${quote(target)}: expected a path such as ${INSTANCES_PATH}`,
    );
  const path = pathOf(target);
  if (path !== INSTANCES_PATH) return refuse(404, 'not-found', `no such path: ${quote(path)}`);
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined)
    return refuse(400, 'malformed', 'a GET carries no body');
  return null;
}

export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/** The query of `target` (after the signature was checked), or what is wrong with it. */
export function parseQuery(target: string): PollQuery | Refusal {
  const q = target.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!QUERY_KEYS.has(key))
      return refuse(400, 'bad-query', `unknown parameter ${quote(key)}: use since and wait`);
    if (seen.has(key)) return refuse(400, 'bad-query', `parameter ${key} given twice`);
    seen.add(key);
  }
  const since = params.get('since') ?? '';
  if (since.length > MAX_TOKEN_CHARS || !TOKEN_RE.test(since))
    return refuse(400, 'bad-query', `since: expected a token this endpoint gave, found ${quote(since)}`);
  const wait = params.get('wait') ?? '0';
  if (!WAIT_RE.test(wait) || Number(wait) > MAX_WAIT_MS)
    return refuse(400, 'bad-query', `wait: expected milliseconds 0..${MAX_WAIT_MS}, found ${quote(wait)}`);
  return { since, wait: Number(wait) };
}
