/**
 * Durations (`15m`, `2h`, `7d`) and points in time, as written in
 * `logs.max_age` and `tokenpak logs --since`.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The pattern `logs.max_age` must match (also used by the config schema). */
export const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i;

/** `"15m"` → 900000; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!.toLowerCase()]!);
}

/**
 * A `--since` value as epoch milliseconds: a duration before `now`
 * (`15m`, `2h`, `7d`) or a timestamp (`2025-06-01`, `2025-06-01T12:00:00Z`,
 * `2025-06-01 12:00`). Undefined when it is neither.
 */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined) return now - duration;
  // Only date-like text: Date.parse alone accepts oddities such as "1".
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) return undefined;
  const time = Date.parse(text.trim().replace(' ', 'T'));
  return Number.isNaN(time) ? undefined : time;
}
