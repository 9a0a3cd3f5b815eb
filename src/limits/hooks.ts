/**
 * Limits as the router's hooks (`router/observer.ts`): an {@link Admission}
 * that refuses a call over a rate limit or budget, and a {@link CallObserver}
 * that adds what each call used (its call record's tokens and cost, so a
 * stream counts its final usage, and a stream cut short what it produced).
 */
import type { Admission, CallObserver } from '../router/observer.ts';
import type { Limiter } from './limiter.ts';

/** What the router takes from the limits: register `admit` as its admission and `observer` among its call observers. */
export interface LimitHooks {
  admit: Admission;
  observer: CallObserver;
}

/**
 * The hooks of a limiter. `warn` receives a store's failure to count a
 * call (the call itself has been answered; only its count is lost).
 */
export function limitHooks(limiter: Limiter, warn: (message: string) => void): LimitHooks {
  return {
    admit: (call) => limiter.admit({ client: call.client, model: call.route ?? call.model }),
    observer: {
      onCallStart(call) {
        const subject = { client: call.client, model: call.route ?? call.model };
        return {
          onCallEnd(record) {
            const tokens = record.inputTokens + record.outputTokens;
            // A refused call, or one that failed before any answer, used nothing.
            if (tokens === 0 && !record.costCents) return;
            limiter.record(subject, { tokens, cents: record.costCents }).catch((error: unknown) => {
              warn(`${(error as Error).message} (the tokens and cost of call ${record.id} were not counted against its limits)`);
            });
          },
        };
      },
    },
  };
}
