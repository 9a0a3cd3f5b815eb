/**
 * The handle `useTokenPak()` and the `tokenpak` fixture return: a test's
 * URLs, its captured calls, and controls over its mocks. It reads a mirror of
 * the test's scope kept in the test's process (calls and mock calls arrive
 * from the run's TokenPak before the response that made them ends) and sends
 * mock changes to the run's TokenPak over the control channel.
 */
import type { Config } from '../config/load.ts';
import { TokenPakError } from '../errors.ts';
import type { MockCall, MockProvider, MockRuntimeSettings } from '../providers/mock/mock-provider.ts';
import type { TokenPakCall } from './scope.ts';
import type { ScopeView } from './scope-view.ts';
import { renderTranscript } from './transcript.ts';

/** A mock control's parameters, answered when the run's TokenPak has applied the change. */
type Control<K extends 'configure' | 'setPatterns' | 'setDefault' | 'failNext'> = (...args: Parameters<MockProvider[K]>) => Promise<void>;

/** Run-time controls of one mock (a mock provider, or the stand-in of a simulated provider). */
export interface MockControls {
  /** The provider name. */
  readonly name: string;
  /** Current settings: latency, failure rate, failure, seed, … */
  readonly settings: Readonly<MockRuntimeSettings>;
  /** Calls this mock received in this test, oldest first. */
  readonly calls: readonly MockCall[];
  /**
   * Changes settings (`latency_ms`, `failure_rate`, `failure`, `seed`, `chunk_delay_ms`, …).
   * Every control takes effect before the test's next request through `fetch`; the promise it
   * returns settles once the run's TokenPak has applied it, and rejects if the change was refused
   * (a refused change also fails the test's next call and the test).
   */
  configure: Control<'configure'>;
  /** Adds patterns for a model (`*` for all), tried first; `{ replace: true }` drops the others. */
  setPatterns: Control<'setPatterns'>;
  /** Sets a model's answer when no pattern matches. */
  setDefault: Control<'setDefault'>;
  /** The next `count` calls fail with `failure` (default: the configured failure). */
  failNext: Control<'failNext'>;
}

/** A test's TokenPak. */
export interface TokenPakHandle {
  /** Base URL of this test's TokenPak (TokenPak's own API: `${url}/v1/messages`). */
  readonly url: string;
  /** For the OpenAI SDK: `new OpenAI({ baseURL: tokenpak.openaiBaseURL })`. */
  readonly openaiBaseURL: string;
  /** For the Anthropic SDK: `new Anthropic({ baseURL: tokenpak.anthropicBaseURL })`. */
  readonly anthropicBaseURL: string;
  /** The three URLs as environment variables. */
  readonly env: { readonly TOKENPAK_URL: string; readonly OPENAI_BASE_URL: string; readonly ANTHROPIC_BASE_URL: string };
  /** The config this test runs (simulated providers point at their stand-ins). */
  readonly config: Config;
  /** This test's finished calls, oldest first, each with its attempts. */
  readonly calls: readonly TokenPakCall[];
  /** The newest finished call, if any. */
  lastCall(): TokenPakCall | undefined;
  /**
   * A mock's controls: a mock provider by name, or a simulated real provider
   * by name. Without a name, the only one there is. Changes last until the
   * end of the test (made outside a test, they apply to every test of the file).
   */
  mock(provider?: string): MockControls;
  /** Waits until `count` calls have finished (for fire-and-forget code), default timeout 5 s. */
  waitForCalls(count: number, options?: { timeoutMs?: number }): Promise<readonly TokenPakCall[]>;
  /** The transcript of this test's calls, as printed when it fails. */
  transcript(): string;
}

/** Where a handle's operations go, resolved at each use. */
export interface HandleTarget {
  scope(): ScopeView;
  /** True when a mock change made now applies to the whole file (made outside any test). */
  fileLevel?(): boolean;
  notes?(): readonly string[];
}

/** The mock's name, checked against the scope's mocks when they are known. */
function pickMock(scope: ScopeView, name: string | undefined): string {
  const info = scope.info;
  if (!info) {
    if (name !== undefined) return name;
    throw new TokenPakError(
      'invalid_request',
      'This test\'s config (from useTokenPak(options)) is still being prepared, so the mock to control cannot be chosen for you: name it, for example tokenpak.mock("mock").',
    );
  }
  const names = Object.keys(info.mocks);
  if (name === undefined) {
    if (names.length === 1) return names[0]!;
    throw new TokenPakError(
      'invalid_request',
      names.length === 0
        ? `${info.source} has no mock provider to control. Add one (type: mock), or use simulateProviders: true to control simulated real providers.`
        : `This test has several mocks (${names.join(', ')}): name one, for example tokenpak.mock(${JSON.stringify(names[0])}).`,
    );
  }
  if (names.includes(name)) return name;
  const provider = info.providers[name];
  const why = !provider
    ? 'is not in the config'
    : !provider.enabled
      ? 'is disabled in the config'
      : `has type ${provider.type}: pass simulateProviders: true to answer it with a controllable stand-in`;
  throw new TokenPakError('invalid_request', `tokenpak.mock(${JSON.stringify(name)}): provider "${name}" ${why}. Mocks here: ${names.join(', ') || '(none)'}.`);
}

export function createHandle(target: HandleTarget): TokenPakHandle {
  const control =
    (name: string, method: 'configure' | 'setPatterns' | 'setDefault' | 'failNext') =>
    (...args: unknown[]): Promise<void> => {
      const scope = target.scope();
      return scope.control(pickMock(scope, name), method, args, target.fileLevel?.() ?? false);
    };

  return {
    get url() {
      return target.scope().url;
    },
    get openaiBaseURL() {
      return `${target.scope().url}/v1`;
    },
    get anthropicBaseURL() {
      return target.scope().url;
    },
    get env() {
      const url = target.scope().url;
      return { TOKENPAK_URL: url, OPENAI_BASE_URL: `${url}/v1`, ANTHROPIC_BASE_URL: url };
    },
    get config() {
      return target.scope().config;
    },
    get calls() {
      return target.scope().calls;
    },
    lastCall() {
      return target.scope().calls.at(-1);
    },
    mock(provider) {
      const resolved = pickMock(target.scope(), provider);
      return {
        name: resolved,
        get settings() {
          return target.scope().mockSettings(resolved);
        },
        get calls() {
          return target.scope().mockCalls(resolved);
        },
        configure: control(resolved, 'configure'),
        setPatterns: control(resolved, 'setPatterns'),
        setDefault: control(resolved, 'setDefault'),
        failNext: control(resolved, 'failNext'),
      } as MockControls;
    },
    waitForCalls(count, options = {}) {
      return target.scope().waitForCalls(count, options.timeoutMs ?? 5_000);
    },
    transcript() {
      const scope = target.scope();
      return renderTranscript(scope.label, scope.calls, [...scope.notes, ...(target.notes?.() ?? [])], scope.url);
    },
  };
}
