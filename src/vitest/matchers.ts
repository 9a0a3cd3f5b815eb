/**
 * Call-log matchers for `expect`: they take a handle (`useTokenPak()`, the
 * `tokenpak` fixture), a list of calls (`tokenpak.calls`) or one call
 * (`tokenpak.lastCall()`). A failing one prints the calls it looked at.
 */
import type { MatcherState } from 'vitest';
import { textOf } from '../canonical/types.ts';
import type { TokenPakHandle } from './handle.ts';
import type { TokenPakCall } from './scope.ts';
import { renderTranscript } from './transcript.ts';

/** What the matchers accept. */
export type TokenPakReceived = TokenPakHandle | TokenPakCall | readonly TokenPakCall[];

interface Subject {
  calls: readonly TokenPakCall[];
  transcript: string;
}

function isCall(value: unknown): value is TokenPakCall {
  return typeof value === 'object' && value !== null && Array.isArray((value as TokenPakCall).attempts) && 'clientFormat' in value;
}

function subjectOf(received: unknown, matcher: string): Subject {
  if (typeof received === 'object' && received !== null && typeof (received as TokenPakHandle).transcript === 'function' && 'calls' in received) {
    const handle = received as TokenPakHandle;
    return { calls: handle.calls, transcript: handle.transcript() };
  }
  if (Array.isArray(received) && received.every(isCall)) return { calls: received, transcript: renderTranscript('the calls given', received) };
  if (isCall(received)) return { calls: [received], transcript: renderTranscript('the call given', [received]) };
  if (received === undefined) {
    throw new TypeError(`${matcher}: expected a TokenPak handle or call, but got undefined (lastCall() returns undefined when no call has finished yet: check that the code under test reached TokenPak).`);
  }
  throw new TypeError(`${matcher}: expected a TokenPak handle (useTokenPak(), the tokenpak fixture), its calls (tokenpak.calls) or one call (tokenpak.lastCall()), but got ${typeof received}.`);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The text a prompt matcher searches: system prompt and every message's text, one per line. */
function requestText(call: TokenPakCall): string {
  if (!call.request) return '';
  const parts = call.request.system !== undefined ? [call.request.system] : [];
  for (const message of call.request.messages) {
    parts.push(textOf(message.content));
    for (const part of message.content) if (part.type === 'tool-result') parts.push(part.content);
  }
  return parts.join('\n');
}

function result(state: MatcherState, pass: boolean, positive: string, negative: string, subject: Subject) {
  return { pass, message: () => `${state.isNot ? negative : positive}\n\n${subject.transcript}` };
}

export const matchers = {
  /** The provider was tried (as primary or fallback) at least once, or exactly `times` times. */
  toHaveCalledProvider(this: MatcherState, received: unknown, provider: string, times?: number) {
    const subject = subjectOf(received, 'toHaveCalledProvider');
    const count = subject.calls.reduce((n, call) => n + call.attempts.filter((a) => a.provider === provider).length, 0);
    const pass = times === undefined ? count > 0 : count === times;
    const wanted = times === undefined ? 'at least once' : plural(times, 'time');
    return result(
      this,
      pass,
      `expected provider "${provider}" to have been called ${wanted}, but it was called ${plural(count, 'time')}`,
      `expected provider "${provider}" not to have been called${times === undefined ? '' : ` ${wanted}`}, but it was called ${plural(count, 'time')}`,
      subject,
    );
  },

  /** Some call failed at an earlier provider and was then answered by `provider`. */
  toHaveFallenBackTo(this: MatcherState, received: unknown, provider: string) {
    const subject = subjectOf(received, 'toHaveFallenBackTo');
    const fellBack = subject.calls.filter((c) => c.outcome === 'ok' && c.provider === provider && c.attempts.length > 1);
    const answeredFirst = subject.calls.filter((c) => c.provider === provider && c.attempts.length === 1).length;
    const why =
      subject.calls.length === 0
        ? 'no call was made'
        : answeredFirst > 0
          ? `"${provider}" answered ${plural(answeredFirst, 'call')} as the first provider tried, which is not a fallback`
          : `no call was answered by "${provider}" after a failed attempt`;
    return result(
      this,
      fellBack.length > 0,
      `expected a call to have fallen back to "${provider}", but ${why}`,
      `expected no call to have fallen back to "${provider}", but ${plural(fellBack.length, 'call')} did`,
      subject,
    );
  },

  /** Some call's request (system prompt or any message) contains the text, or matches the RegExp. */
  toHaveReceivedPrompt(this: MatcherState, received: unknown, expected: string | RegExp) {
    const subject = subjectOf(received, 'toHaveReceivedPrompt');
    const test = typeof expected === 'string' ? (text: string) => text.includes(expected) : (text: string) => new RegExp(expected.source, expected.flags.replace(/[gy]/g, '')).test(text);
    const pass = subject.calls.some((call) => test(requestText(call)));
    const shown = typeof expected === 'string' ? JSON.stringify(expected) : String(expected);
    return result(
      this,
      pass,
      `expected a call whose prompt ${typeof expected === 'string' ? 'contains' : 'matches'} ${shown}, but none of ${plural(subject.calls.length, 'call')} did`,
      `expected no call whose prompt ${typeof expected === 'string' ? 'contains' : 'matches'} ${shown}, but one did`,
      subject,
    );
  },

  /** Calls asked for this model name at least once, or exactly `times` times. */
  toHaveCalledModel(this: MatcherState, received: unknown, model: string, times?: number) {
    const subject = subjectOf(received, 'toHaveCalledModel');
    const count = subject.calls.filter((c) => c.model === model).length;
    const pass = times === undefined ? count > 0 : count === times;
    const wanted = times === undefined ? 'at least once' : plural(times, 'time');
    return result(
      this,
      pass,
      `expected model "${model}" to have been asked for ${wanted}, but it was asked for ${plural(count, 'time')}`,
      `expected model "${model}" not to have been asked for${times === undefined ? '' : ` ${wanted}`}, but it was asked for ${plural(count, 'time')}`,
      subject,
    );
  },

  /** Exactly `count` calls were made through TokenPak. */
  toHaveMadeCalls(this: MatcherState, received: unknown, count: number) {
    const subject = subjectOf(received, 'toHaveMadeCalls');
    return result(
      this,
      subject.calls.length === count,
      `expected ${plural(count, 'call')} through TokenPak, but there ${subject.calls.length === 1 ? 'was' : 'were'} ${subject.calls.length}`,
      `expected other than ${plural(count, 'call')} through TokenPak`,
      subject,
    );
  },
};

declare module 'vitest' {
  // The type parameters must match Vitest 5's declaration exactly (Vitest 4 users need skipLibCheck, the default of `tsc --init`).
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    /** The provider was tried (as primary or fallback) at least once, or exactly `times` times. */
    toHaveCalledProvider(provider: string, times?: number): R;
    /** Some call failed at an earlier provider and was then answered by `provider`. */
    toHaveFallenBackTo(provider: string): R;
    /** Some call's request (system prompt or any message) contains the text, or matches the RegExp. */
    toHaveReceivedPrompt(expected: string | RegExp): R;
    /** Calls asked for this model name at least once, or exactly `times` times. */
    toHaveCalledModel(model: string, times?: number): R;
    /** Exactly `count` calls were made through TokenPak. */
    toHaveMadeCalls(count: number): R;
  }
}
