/**
 * Waits for a scope's list of calls to reach a count: `waitForCalls` of a scope that runs in
 * this process (scope.ts) and of one seen from a test worker (scope-view.ts).
 */
export interface CallWaiters<T> {
  /** Resolves with the list once it holds `count` calls; rejects after `timeoutMs` with how many came. */
  wait(count: number, timeoutMs: number): Promise<readonly T[]>;
  /** Re-checks the pending waits: call it after the list grew. */
  wake(): void;
}

export function createCallWaiters<T>(calls: readonly T[]): CallWaiters<T> {
  const waiters = new Set<() => void>();
  return {
    wait(count, timeoutMs) {
      if (calls.length >= count) return Promise.resolve(calls);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (calls.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(calls);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`[tokenpak] Waited ${timeoutMs} ms for ${count} call(s) to finish, but ${calls.length} did. Check that the code under test reaches TokenPak (the transcript lists the calls that arrived).`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    wake() {
      for (const wake of waiters) wake();
    },
  };
}
