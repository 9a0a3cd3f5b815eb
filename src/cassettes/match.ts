/**
 * Matching a request to a recorded one: the body sent upstream, with fields
 * that change from run to run and not the answer left out, compared with its
 * keys in a stable order.
 */

/** Fields left out of matching unless the config says otherwise: they label a call, they do not change its answer. */
export const DEFAULT_IGNORED_FIELDS: readonly string[] = ['user', 'metadata', 'store', 'prompt_cache_key', 'safety_identifier', 'service_tier'];

/** The body with ignored fields removed and object keys sorted, so equal requests compare equal. */
export function normalizeBody(body: unknown, ignored: readonly string[]): unknown {
  const paths = ignored.map((field) => field.split('.'));
  const strip = (value: unknown, depth: number, live: string[][]): unknown => {
    if (Array.isArray(value)) return value.map((item) => strip(item, depth, live));
    if (!value || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const here = live.filter((path) => path[depth] === key || path[depth] === '*');
      if (here.some((path) => path.length === depth + 1)) continue;
      out[key] = strip((value as Record<string, unknown>)[key], depth + 1, here);
    }
    return out;
  };
  return strip(body, 0, paths);
}

/**
 * The API endpoint of a request path, without the query and without whatever
 * a base URL put before the API's version (`/openai/v1/chat/completions` is
 * `/v1/chat/completions`), so that a cassette recorded through one base URL
 * replays through another.
 */
export function endpointOf(path: string): string {
  const clean = path.split('?')[0]!;
  const at = clean.lastIndexOf('/v1/');
  return at > 0 ? clean.slice(at) : clean;
}

/** One line per request: method, endpoint and normalised body. */
export function requestKey(method: string, path: string, normalized: unknown): string {
  return `${method.toUpperCase()} ${endpointOf(path)} ${JSON.stringify(normalized)}`;
}

/** The lines in which two normalised bodies differ (`-` recorded, `+` this request), at most `max` of them. */
export function diffBodies(recorded: unknown, actual: unknown, max = 20): string[] {
  const a = JSON.stringify(recorded, null, 2).split('\n');
  const b = JSON.stringify(actual, null, 2).split('\n');
  // Longest common subsequence on lines; bodies this large are summarised instead (quadratic table).
  if (a.length * b.length > 4_000_000) return [`- (${a.length} lines)`, `+ (${b.length} lines)`];
  const table: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while ((i < a.length || j < b.length) && out.length < max) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || table[i]![j + 1]! >= table[i + 1]![j]!)) {
      out.push(`+ ${b[j++]!.trim()}`);
    } else {
      out.push(`- ${a[i++]!.trim()}`);
    }
  }
  return out;
}

/** How many lines two normalised bodies differ in (for finding the closest recorded request). */
export function distance(recorded: unknown, actual: unknown): number {
  const a = JSON.stringify(recorded, null, 2).split('\n');
  const b = new Map<string, number>();
  for (const line of JSON.stringify(actual, null, 2).split('\n')) b.set(line, (b.get(line) ?? 0) + 1);
  let shared = 0;
  for (const line of a) {
    const left = b.get(line);
    if (left) {
      shared++;
      b.set(line, left - 1);
    }
  }
  let rest = 0;
  for (const left of b.values()) rest += left;
  return a.length - shared + rest;
}
