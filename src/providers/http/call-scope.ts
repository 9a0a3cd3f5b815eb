/**
 * The life of one upstream call: ended by the caller's signal (the client
 * went away) or by the call's deadline (`timeout_ms`, retries and the whole
 * answer included). Every call's deadline is kept on one shared timer rather
 * than a timer and an AbortController of its own: a call that ends in time
 * (nearly all of them) costs an entry in a set and one listener on the
 * caller's signal.
 */

/** Calls in flight, each with its deadline, and one timer for the earliest of them. */
const inFlight = new Set<CallScope>();
let timer: NodeJS.Timeout | undefined;
let timerAt = Infinity;

function schedule(at: number): void {
  if (at >= timerAt) return;
  clearTimeout(timer);
  timerAt = at;
  // Never keeps the process alive: a call in flight is held by its socket, not by its deadline.
  timer = setTimeout(expire, Math.max(0, at - Date.now())).unref();
}

/** Ends the calls whose deadline has passed and sets the timer for the next one. */
function expire(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = Date.now();
  let next = Infinity;
  for (const scope of inFlight) {
    if (scope.deadlineAt <= now) {
      inFlight.delete(scope);
      scope.expire();
    } else if (scope.deadlineAt < next) next = scope.deadlineAt;
  }
  // A call that ended early leaves the timer set for its deadline; when it fires, it moves on to the next.
  if (next !== Infinity) schedule(next);
}

/**
 * The signal undici gets for one call. An EventTarget-like object with no
 * `aborted` field (undici would then take it for an AbortSignal), so a call
 * that is already over is checked with {@link cancelled} before each try.
 */
export class CallScope {
  /** `Date.now()` past which the call is over. */
  readonly deadlineAt: number;
  /** Why the call ended: the caller's reason, or a TimeoutError. */
  reason: unknown;
  /** The total time ran out (rather than the caller giving up). */
  timedOut = false;
  readonly #totalMs: number;
  readonly #caller: AbortSignal | undefined;
  #ended = false;
  #listeners: Array<() => void> | undefined;

  constructor(totalMs: number, caller: AbortSignal | undefined) {
    this.#totalMs = totalMs;
    this.deadlineAt = Date.now() + totalMs;
    this.#caller = caller;
    if (caller?.aborted) {
      this.#end(caller.reason);
      return;
    }
    // The scope is its own listener (handleEvent): no closure per call.
    caller?.addEventListener('abort', this, { once: true });
    inFlight.add(this);
    schedule(this.deadlineAt);
  }

  /** The caller's signal fired. */
  handleEvent(): void {
    this.#end(this.#caller!.reason);
  }

  /** The deadline passed (called by the shared timer). */
  expire(): void {
    this.timedOut = true;
    this.#end(new DOMException(`The call took longer than ${this.#totalMs} ms.`, 'TimeoutError'));
  }

  /** The call ended, by its caller or its deadline. */
  get cancelled(): boolean {
    return this.#ended;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.#listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.#listeners!.splice(index, 1);
  }

  /** Waits `ms` before another try; ends early when the call does. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(wait);
        this.removeEventListener('abort', done);
        resolve();
      };
      const wait = setTimeout(done, ms);
      this.addEventListener('abort', done);
    });
  }

  /** The call is over: off the deadline timer, and the caller's signal let go. */
  dispose(): void {
    inFlight.delete(this);
    this.#caller?.removeEventListener('abort', this);
  }

  #end(reason: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.reason = reason;
    this.dispose();
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}
