/**
 * The mock's memory of its recent calls, bounded by count and by size: a
 * long-running proxy that receives large prompts (megabytes each) must not
 * keep a thousand of them.
 */

/** Most calls kept. */
export const MAX_KEPT_CALLS = 1000;

/** Most bytes of requests kept (estimated): the oldest calls go first. */
export const MAX_KEPT_CALL_BYTES = 32 * 1024 * 1024;

/** The newest items, within a count and a byte budget; the newest one is always kept. */
export class RecentCalls<T> {
  #items: (T | undefined)[] = [];
  #sizes: number[] = [];
  #start = 0;
  #bytes = 0;

  readonly maxCount: number;
  readonly maxBytes: number;

  constructor(maxCount = MAX_KEPT_CALLS, maxBytes = MAX_KEPT_CALL_BYTES) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  push(item: T, bytes: number): void {
    this.#items.push(item);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
    while (this.#items.length - this.#start > 1 && (this.#items.length - this.#start > this.maxCount || this.#bytes > this.maxBytes)) {
      this.#bytes -= this.#sizes[this.#start]!;
      this.#items[this.#start] = undefined;
      this.#start++;
    }
    // Dropped slots are reclaimed in batches, so that a push costs O(1) on average.
    if (this.#start > 64 && this.#start * 2 > this.#items.length) this.#compact();
  }

  /** The kept items, oldest first. */
  get items(): readonly T[] {
    if (this.#start > 0) this.#compact();
    return this.#items as T[];
  }

  /** Estimated bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#items = [];
    this.#sizes = [];
    this.#start = 0;
    this.#bytes = 0;
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#start);
    this.#sizes = this.#sizes.slice(this.#start);
    this.#start = 0;
  }
}

/**
 * Roughly how many bytes a JSON-like value holds: its strings' lengths plus a
 * little per value. Iterative, so that no nesting can overflow the stack.
 */
export function approximateBytes(value: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') bytes += next.length + 16;
    else if (Array.isArray(next)) {
      bytes += 16;
      for (const item of next) stack.push(item);
    } else if (next !== null && typeof next === 'object') {
      bytes += 16;
      for (const [key, item] of Object.entries(next)) {
        bytes += key.length;
        stack.push(item);
      }
    } else bytes += 8;
  }
  return bytes;
}
