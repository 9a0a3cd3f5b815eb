/**
 * The contract of the stores that hold rate-limit and budget counters: one in
 * this process's memory (one replica), one in Redis (a fleet). Both keep the
 * same two kinds of counter and pass one contract suite
 * (test/limits/store-contract.ts).
 *
 * Time is always passed in (`now`, epoch milliseconds), never read by a
 * store: every replica and the tests decide what "now" is, and the stores
 * agree on windows by arithmetic alone.
 */

/**
 * How long what is added to a counter counts.
 * - `sliding`: each amount counts for `ms` after it was added (a rolling window: "in any 60 s").
 * - `until`: amounts count until `resetAt` (epoch ms), when the counter starts again from 0
 *   (a calendar window: "this UTC day"; the counter's key names the period).
 */
export type CounterWindow = { kind: 'sliding'; ms: number } | { kind: 'until'; resetAt: number };

/** One counter: its key (without the store's prefix) and its window. */
export interface Counter {
  key: string;
  window: CounterWindow;
}

/** A counter checked on admission. */
export interface LimitCheck extends Counter {
  /** The most the counter may hold. */
  limit: number;
  /**
   * Added on admission (1 for a request count), or 0 for amounts known only
   * after the call (tokens, cents). The check refuses when the counter has
   * reached `limit`, or when adding `take` would pass it.
   */
  take: number;
}

/** An amount added to a counter after a call, without any check. */
export interface CounterAmount extends Counter {
  amount: number;
}

/** The answer to an admission. */
export type Admission =
  | { ok: true }
  | {
      ok: false;
      /** Index in the checks of the first one that refused. */
      index: number;
      /** What that counter held. */
      used: number;
      /** Milliseconds until the check could pass (for `sliding`, once enough amounts have aged out; for `until`, the reset). */
      retryAfterMs: number;
    };

/** Where counters live. */
export interface LimitStore {
  /** `memory` or `redis`, for messages. */
  readonly kind: 'memory' | 'redis';
  /**
   * One atomic step over all `checks`: when every check passes, each `take`
   * is added and the answer is `ok`; when one refuses, nothing is added. With
   * Redis the step is atomic across replicas, so that N replicas together
   * admit what the limit allows, not N times it.
   */
  admit(checks: readonly LimitCheck[], now: number): Promise<Admission>;
  /** Adds amounts known after a call (tokens, cents), atomically, without checks. */
  add(amounts: readonly CounterAmount[], now: number): Promise<void>;
  /** What a counter holds at `now` (for tests and messages). */
  read(counter: Counter, now: number): Promise<number>;
  /** Releases connections. */
  close(): Promise<void>;
}
