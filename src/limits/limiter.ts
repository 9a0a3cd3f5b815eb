/**
 * Rate limits and budgets: which counters a request is checked against (its
 * client key's, its model's), the 429 when one refuses, and what a call adds
 * once it is over. The counters live in a {@link LimitStore}: memory for one
 * replica, Redis for a fleet.
 *
 * - Requests per minute count when a request is admitted.
 * - Tokens per minute (input plus output) and cents count when the call is
 *   over, from its call record (a stream's final usage, or what a stream cut
 *   short produced). A request is refused once the last minute's tokens, or
 *   the period's spend, have reached the limit; calls already admitted
 *   finish, so a limit can be passed by what they use.
 * - Spend is per UTC calendar day and month.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/load.ts';
import type { KeyLimits, RateLimits } from '../config/schema.ts';
import { TokenPakError } from '../errors.ts';
import type { CounterAmount, LimitCheck, LimitStore } from './types.ts';

/** Who is asking for what. */
export interface LimitSubject {
  /** The client's key id ({@link clientKeyId}), when the proxy has keys. */
  client?: string | undefined;
  /** The model (route name) asked for. */
  model: string;
}

/** What a call used, added once it is over. */
export interface CallUse {
  /** Input plus output tokens. */
  tokens: number;
  /** Cost in US cents; null (an unknown price) counts as 0. */
  cents: number | null;
}

/** The limits of one config, applied to counters in a {@link LimitStore}; a reload builds a new one on the same store. */
export interface Limiter {
  /** Whether the config sets any limit (when not, admission is free and touches no store). */
  readonly active: boolean;
  /** Admits the request, or throws the 429 (`rate_limited`, `budget_exceeded`) naming the limit and when to retry. */
  admit(subject: LimitSubject, now?: number): Promise<void>;
  /** Adds what a call used (once it is over) to the counters of its key and model. */
  record(subject: LimitSubject, use: CallUse, now?: number): Promise<void>;
}

/**
 * The id a client key is counted under: a digest, so that the key itself
 * never reaches the store, its key names, or anything a replica shares.
 */
export function clientKeyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}

const MINUTE = 60_000;

interface Rule {
  check: LimitCheck;
  /** What a call adds to this counter afterwards (requests are added on admission). */
  measure?: 'tokens' | 'cents';
  refusal(used: number, retryAfterMs: number): TokenPakError;
}

interface KeyPlan {
  id: string;
  label: string;
  path: string;
  limits: KeyLimits;
}

/** Whether a config sets any rate limit or budget. */
export function hasLimits(config: Config): boolean {
  const keyed = (config.server.auth?.keys ?? []).some((entry) => typeof entry !== 'string' && entry.limits && Object.keys(entry.limits).length > 0);
  return keyed || Object.values(config.models).some((route) => route.settings.limits && Object.keys(route.settings.limits).length > 0);
}

/**
 * The limiter of `config`'s `server.auth.keys[].limits` and `models.<name>.limits`.
 * `store` may be undefined only when the config sets no limit (throws otherwise).
 */
export function createLimiter(config: Config, store: LimitStore | undefined): Limiter {
  const keys = new Map<string, KeyPlan>();
  (config.server.auth?.keys ?? []).forEach((entry, i) => {
    if (typeof entry === 'string' || !entry.limits) return;
    const id = clientKeyId(entry.key);
    keys.set(id, { id, label: entry.name ? `Client key "${entry.name}"` : `The client key server.auth.keys[${i}]`, path: `server.auth.keys[${i}].limits`, limits: entry.limits });
  });
  const active = hasLimits(config);
  if (active && !store) throw new TokenPakError('internal_error', 'The config sets limits but no counter store was given.');

  const rulesOf = (subject: LimitSubject, now: number): Rule[] => {
    const rules: Rule[] = [];
    const key = subject.client === undefined ? undefined : keys.get(subject.client);
    if (key) rules.push(...keyRules(key, now));
    const modelLimits = config.models[subject.model]?.settings.limits;
    if (modelLimits) rules.push(...rateRules(`model:${subject.model}`, `Model "${subject.model}" (all clients together)`, `models.${subject.model}.limits`, modelLimits));
    return rules;
  };

  return {
    active,

    async admit(subject, now = Date.now()) {
      if (!active) return;
      const rules = rulesOf(subject, now);
      if (rules.length === 0) return;
      const admission = await store!.admit(rules.map((rule) => rule.check), now);
      if (!admission.ok) throw rules[admission.index]!.refusal(admission.used, admission.retryAfterMs);
    },

    async record(subject, use, now = Date.now()) {
      if (!active) return;
      const amounts: CounterAmount[] = [];
      for (const { check, measure } of rulesOf(subject, now)) {
        const amount = measure === 'tokens' ? use.tokens : measure === 'cents' ? use.cents ?? 0 : 0;
        if (amount > 0) amounts.push({ key: check.key, window: check.window, amount });
      }
      if (amounts.length > 0) await store!.add(amounts, now);
    },
  };
}

function rateRules(id: string, label: string, path: string, limits: RateLimits): Rule[] {
  const rules: Rule[] = [];
  const window = { kind: 'sliding', ms: MINUTE } as const;
  if (limits.requests_per_minute !== undefined) {
    const limit = limits.requests_per_minute;
    rules.push({
      check: { key: `rpm:${id}`, window, limit, take: 1 },
      refusal: (_used, wait) => rateLimited(`${label} has reached its limit of ${limit} requests per minute (${path}.requests_per_minute).`, wait),
    });
  }
  if (limits.tokens_per_minute !== undefined) {
    const limit = limits.tokens_per_minute;
    rules.push({
      check: { key: `tpm:${id}`, window, limit, take: 0 },
      measure: 'tokens',
      refusal: (used, wait) => rateLimited(`${label} has reached its limit of ${limit} tokens per minute (${path}.tokens_per_minute): its calls of the last minute used ${Math.round(used)}.`, wait),
    });
  }
  return rules;
}

function keyRules(key: KeyPlan, now: number): Rule[] {
  const rules = rateRules(`key:${key.id}`, key.label, key.path, key.limits);
  const date = new Date(now);
  const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  const periods = [
    { limit: key.limits.cents_per_day, setting: 'cents_per_day', period: date.toISOString().slice(0, 10), resetAt: Date.UTC(y, m, d + 1), what: 'today (UTC)', until: '00:00 UTC' },
    { limit: key.limits.cents_per_month, setting: 'cents_per_month', period: date.toISOString().slice(0, 7), resetAt: Date.UTC(y, m + 1, 1), what: 'this month (UTC)', until: 'the 1st of next month, 00:00 UTC' },
  ];
  for (const { limit, setting, period, resetAt, what, until } of periods) {
    if (limit === undefined) continue;
    rules.push({
      check: { key: `cents:${period}:key:${key.id}`, window: { kind: 'until', resetAt }, limit, take: 0 },
      measure: 'cents',
      refusal: (used, wait) =>
        new TokenPakError(
          'budget_exceeded',
          `${key.label} has spent ${round(used)} of its ${limit} cents for ${what} (${key.path}.${setting}). Its requests are refused until ${until}, in ${seconds(wait)} s; raise the limit to allow more.`,
          { status: 429, retryAfterSeconds: seconds(wait) },
        ),
    });
  }
  return rules;
}

function rateLimited(message: string, waitMs: number): TokenPakError {
  return new TokenPakError('rate_limited', `${message} Retry in ${seconds(waitMs)} s.`, {
    status: 429,
    retryable: true,
    retryAfterSeconds: seconds(waitMs),
    retryAfterMs: Math.ceil(waitMs),
  });
}

/** Whole seconds to wait, at least 1 (`retry-after` takes whole seconds). */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function round(cents: number): number {
  return Math.round(cents * 10_000) / 10_000;
}
