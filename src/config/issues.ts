// Turns zod issues into ConfigIssues an operator can act on: file, line and column, the key path, what was
// expected (in words, not zod's type names) and what the file holds there.

import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { formatPath, locate, type Path, valueAt } from './locate.js';

type ZodIssue = z.core.$ZodIssue;

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/** Zod's own messages start like this; anything else was written by our schema and is the "expected" text. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized)/;

/** How a raw YAML value reads in an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function quoteAll(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function bound(iss: Extract<ZodIssue, { code: 'too_small' | 'too_big' }>): string {
  const small = iss.code === 'too_small';
  const n = Number(small ? iss.minimum : iss.maximum);
  const inclusive = iss.inclusive !== false;
  switch (iss.origin) {
    case 'array':
      return small ? `a list of at least ${n} item${n === 1 ? '' : 's'}` : `a list of at most ${n} items`;
    case 'string':
      return small
        ? n === 1
          ? 'a non-empty string'
          : `a string of at least ${n} characters`
        : `a string of at most ${n} characters`;
    default:
      return `a number ${small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'} ${n}`;
  }
}

function expectedOf(iss: ZodIssue): string {
  if (iss.code !== 'unrecognized_keys' && !ZOD_DEFAULT_MESSAGE.test(iss.message)) return iss.message;
  switch (iss.code) {
    case 'invalid_type':
      return TYPE_WORDS[iss.expected] ?? iss.expected;
    case 'invalid_value':
      return iss.values.length === 1 ? JSON.stringify(iss.values[0]) : `one of ${quoteAll(iss.values)}`;
    case 'invalid_union':
      return 'options' in iss && Array.isArray(iss.options)
        ? `one of ${quoteAll(iss.options)}`
        : 'one of the allowed forms';
    case 'too_small':
    case 'too_big':
      return bound(iss);
    case 'invalid_format':
      return iss.format === 'starts_with' && 'prefix' in iss
        ? `a string starting with "${String(iss.prefix)}"`
        : `a ${iss.format}`;
    default:
      return iss.message;
  }
}

/** The ConfigIssues for one zod issue (an unrecognized_keys issue yields one per unknown key). */
export function toConfigIssues(
  iss: ZodIssue,
  file: string,
  doc: Document,
  counter: LineCounter,
  data: unknown,
): ConfigIssue[] {
  const path = iss.path as Path;
  if (iss.code === 'unrecognized_keys') {
    return iss.keys.map((key) => ({
      file,
      ...locate(doc, counter, [...path, key], true),
      path: formatPath([...path, key]),
      expected: iss.message,
      found: `unknown key "${key}"`,
      code: 'CONFIG_UNKNOWN_KEY' as const,
    }));
  }
  const params = iss.code === 'custom' ? (iss.params as { found?: string } | undefined) : undefined;
  const found = params?.found ?? describeValue(valueAt(data, path));
  return [
    {
      file,
      ...locate(doc, counter, path),
      path: formatPath(path),
      expected: expectedOf(iss),
      found,
      code: iss.code === 'custom' ? 'CONFIG_RULE' : 'CONFIG_TYPE',
    },
  ];
}
