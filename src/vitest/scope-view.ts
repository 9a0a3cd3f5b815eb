/**
 * What the test's process knows of one scope of the run's TokenPak: its
 * calls and mock calls (pushed by the run's TokenPak as they finish), its
 * mocks' settings (as the last change left them), notes for the transcript,
 * and refused mock changes not yet reported.
 */
import type { Config } from '../config/load.ts';
import type { MockCall, MockRuntimeSettings } from '../providers/mock/mock-provider.ts';
import type { Channel } from './channel.ts';
import type { ScopeInfo } from './protocol.ts';
import type { TokenPakCall } from './scope.ts';
import { createCallWaiters } from './call-waiters.ts';

export interface ScopeView {
  /** `<channel>.f1` for a file, `<channel>.t3` for a test. */
  readonly id: string;
  /** What the scope is for, in transcripts. */
  readonly label: string;
  /** Base URL of this scope (no trailing slash). */
  readonly url: string;
  /** Mocks, providers and config, once known (a scope with its own options learns them from the run's TokenPak). */
  info: ScopeInfo | undefined;
  readonly config: Config;
  readonly calls: readonly TokenPakCall[];
  readonly notes: string[];
  /** Refused mock changes nobody awaited that no call has reported yet (the next call reports them); clears them. */
  takeRefused(): Error[];
  /** Refused mock changes nobody awaited (the test fails with them). */
  unobserved(): Error[];
  mockSettings(name: string): Readonly<MockRuntimeSettings>;
  mockCalls(name: string): readonly MockCall[];
  /** Sends a mock change; resolves once applied. */
  control(mock: string, method: string, args: unknown[], fileLevel: boolean): Promise<void>;
  waitForCalls(count: number, timeoutMs: number): Promise<readonly TokenPakCall[]>;
  /** A call and the mock calls it made, as pushed by the run's TokenPak. */
  arrived(call: TokenPakCall | undefined, mockCalls: Record<string, unknown[]>): void;
}

export interface ScopeViewInit {
  id: string;
  label: string;
  url: string;
  channel: Channel;
  /** Known at once (a copy of the file's), or learnt later. */
  info: ScopeInfo | Promise<ScopeInfo>;
  /** While `info` is being learnt: what the test's process found by itself. */
  known?: ScopeInfo;
  /** Checks a control where it is written (throws the mock's error); see check-scope.ts. */
  check: (mock: string, method: string, args: unknown[], config: unknown) => { changes?: Record<string, unknown>; warning?: string };
}

/** A copy of another scope's info under a new id (a test scope made with the file's options). */
export function infoFor(base: ScopeInfo, id: string, url: string): ScopeInfo {
  let config: unknown;
  const mocks: ScopeInfo['mocks'] = {};
  for (const [name, settings] of Object.entries(base.mocks)) mocks[name] = { ...settings };
  return {
    ...base,
    id,
    url,
    mocks,
    // Simulated providers' stand-in URLs carry the scope id.
    get config() {
      return (config ??= JSON.parse(JSON.stringify(base.config).replaceAll(`/${base.id}/`, `/${id}/`)));
    },
  };
}

export function createScopeView(init: ScopeViewInit): ScopeView {
  const calls: TokenPakCall[] = [];
  const mockCalls = new Map<string, MockCall[]>();
  const notes: string[] = [];
  const refusals: Array<{ error: Error; observed: boolean; reported: boolean }> = [];
  const waiters = createCallWaiters(calls);
  let info: ScopeInfo | undefined = init.known;
  if (init.info instanceof Promise) {
    init.info.then(
      (learnt) => {
        // Settings changed meanwhile are the newer ones.
        if (info) for (const [name, settings] of Object.entries(info.mocks)) if (learnt.mocks[name]) learnt.mocks[name] = settings;
        view.info = learnt;
      },
      (error: Error) => void refusals.push({ error, observed: false, reported: false }),
    );
  } else {
    info = init.info;
  }

  const view: ScopeView = {
    id: init.id,
    label: init.label,
    url: init.url,
    get info() {
      return info;
    },
    set info(value) {
      info = value;
    },
    get config() {
      return (info?.config ?? {}) as Config;
    },
    calls,
    notes,
    takeRefused() {
      const fresh = refusals.filter((r) => !r.observed && !r.reported);
      for (const r of fresh) r.reported = true;
      return fresh.map((r) => r.error);
    },
    unobserved() {
      return refusals.filter((r) => !r.observed).map((r) => r.error);
    },
    mockSettings(name) {
      return (info?.mocks[name] ?? {}) as MockRuntimeSettings;
    },
    mockCalls(name) {
      return mockCalls.get(name) ?? [];
    },
    control(mock, method, args, fileLevel) {
      // Checked here, so that a mistake throws where it is written (the run's TokenPak checks it again).
      const { changes, warning } = init.check(mock, method, args, info?.config);
      if (warning) notes.push(`warning: ${warning}`);
      if (changes && info?.mocks[mock]) info.mocks[mock] = { ...info.mocks[mock], ...changes };
      const refusal = { error: undefined as unknown as Error, observed: false, reported: false };
      const done = init.channel.request<{ settings: Record<string, unknown> }>('control', { scope: init.id, mock, method, args, file: fileLevel }).then(
        ({ settings }) => {
          if (info) info.mocks[mock] = settings;
        },
        (error: Error) => {
          refusal.error = error;
          refusals.push(refusal);
          throw error;
        },
      );
      return new ControlResult(done, () => (refusal.observed = true));
    },
    waitForCalls: (count, timeoutMs) => waiters.wait(count, timeoutMs),
    arrived(call, byMock) {
      if (call) calls.push(call);
      for (const [name, list] of Object.entries(byMock)) {
        const kept = mockCalls.get(name);
        if (kept) kept.push(...(list as MockCall[]));
        else mockCalls.set(name, [...(list as MockCall[])]);
      }
      waiters.wake();
    },
  };
  return view;
}

/**
 * What a mock control returns: a promise that notes being awaited (or
 * `.then`ed), so that a refused change the test checked itself does not also
 * fail the test, and one nobody looked at does.
 */
class ControlResult extends Promise<void> {
  static override get [Symbol.species]() {
    return Promise;
  }
  #observe: (() => void) | undefined;
  constructor(source: Promise<void> | ((resolve: (value: void) => void, reject: (reason?: unknown) => void) => void), observe?: () => void) {
    super(typeof source === 'function' ? source : (resolve, reject) => source.then(resolve, reject));
    this.#observe = observe;
    // Handled, so that an unawaited refusal is reported by the test rather than as an unhandled rejection.
    Promise.prototype.then.call(this, undefined, () => {});
  }
  override then<A = void, B = never>(onFulfilled?: ((value: void) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.#observe?.();
    return super.then(onFulfilled, onRejected);
  }
}
