/**
 * Helpers shared by the OpenAI and Anthropic wire formats: ids, times, request
 * validation errors that name the offending field, and tool-argument JSON.
 */
import type { z } from 'zod';
import { RequestError } from '../errors.ts';
import type { TokenPakError } from '../errors.ts';

/** The `retry-after` and `retry-after-ms` headers an error asks the client to honour (none when it names no wait). */
export function retryHeaders(error: TokenPakError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) headers['retry-after-ms'] = String(error.retryAfterMs);
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return headers;
}

/** The request id without separators, for ids such as `chatcmpl-…` and `msg_…`. */
export function compactId(requestId: string): string {
  return requestId.replace(/[^A-Za-z0-9]/g, '');
}

/** Epoch seconds, as OpenAI's `created` fields are. */
export function unixSeconds(ms = Date.now()): number {
  return Math.floor(ms / 1000);
}

/** Tool-call arguments as an object (Anthropic's `input`); text that is not a JSON object gives `{}`. */
export function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The value at a path inside a parsed body. */
function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let node = body;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** What the first problem of a failed parse is, in neutral terms each format words its own way. */
export interface RequestProblem {
  /** Path of the field at fault, joined with `join` (empty for the body itself). */
  param: string;
  kind: 'missing' | 'unknown-key' | 'invalid';
  /** For `unknown-key`: the unexpected key. */
  key?: string;
  /** For `invalid`: what is wrong with the value. */
  message: string;
}

/** JSON type name of a value, as error messages show it. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** The first zod issue as a {@link RequestProblem}. */
export function firstProblem(error: z.ZodError, body: unknown, join: (path: readonly PropertyKey[]) => string): RequestProblem {
  const issue = error.issues[0]!;
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return { param: join([...path, key]), kind: 'unknown-key', key, message: '' };
  }
  const value = valueAt(body, path);
  if (value === undefined) return { param: join(path), kind: 'missing', message: '' };
  const message = issue.message.replace(/^Invalid input: /, '');
  return { param: join(path), kind: 'invalid', message: issue.code === 'invalid_type' && !/got/.test(message) ? `${message}, got ${jsonType(value)}` : message };
}

/** `messages[0].content` (OpenAI's way of naming a field). */
export function bracketPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${String(segment)}` : String(segment);
  return out;
}

/** `messages.0.content` (Anthropic's way of naming a field). */
export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** A 400 naming the field at fault. */
export function fieldError(param: string, message: string): RequestError {
  return new RequestError(message, param ? { param } : {});
}

/** The `param` of a request error, when it names one. */
export function paramOf(error: TokenPakError): string | null {
  return error instanceof RequestError && error.param !== undefined ? error.param : null;
}

/** Whether a value is a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A request's `metadata` as text values (OpenAI sends strings, Anthropic
 * `{user_id}`, TokenPak's own format any JSON): for mock rules that match on
 * it. Undefined when absent or not an object.
 */
export function metadataOf(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
