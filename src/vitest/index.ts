/**
 * `tokenpak/vitest`: one TokenPak for the Vitest run, a private scope per test, `useTokenPak()` and the
 * `tokenpak` fixture, call-log matchers, simulated providers for fallback
 * scenarios. Set-up: `test: { setupFiles: ['tokenpak/vitest/setup'] }`.
 */
import { TokenPakError } from '../errors.ts';
import type { TokenPakHandle } from './handle.ts';
import { checkOptions, type ScopeOptions } from './options-check.ts';
import { currentSession } from './session.ts';

/**
 * This test's TokenPak. Inside a test (or its hooks) the handle belongs to
 * that test; called outside a test (at the top of a file, in `beforeAll`) it
 * follows whichever test is running, and its mock changes apply to every test
 * of the file. Options give the test (or the file) another config, or
 * simulated real providers.
 */
export function useTokenPak(options?: ScopeOptions): TokenPakHandle {
  checkOptions(options, 'useTokenPak()', true);
  const session = currentSession();
  if (!session) {
    throw new TokenPakError(
      'config_invalid',
      "useTokenPak() needs TokenPak's Vitest setup. Add to vitest.config.ts: test: { setupFiles: ['tokenpak/vitest/setup'] } (or plugins: [tokenpak()] from 'tokenpak/vitest').",
    );
  }
  return session.use(options);
}

export { it, test, type TokenPakFixtures } from './fixture.ts';
export type { MockControls, TokenPakHandle } from './handle.ts';
export { matchers as tokenpakMatchers, type TokenPakReceived } from './matchers.ts';
export type { CassetteMode, CassetteOptions, ConfigOption, ScopeOptions, SimulatedProviderSettings, TokenPakVitestOptions, UnhandledHostPolicy } from './options-check.ts';
export { tokenpak, type TokenPakVitePlugin } from './plugin.ts';
export type { TokenPakAttempt, TokenPakCall } from './scope.ts';
export type { AnswerSource } from '../providers/mock/answers.ts';
export { setupTokenPak } from './session.ts';
// The shape Vitest's `inject('tokenpak:server')` gives (the session augments ProvidedContext with it), public so the
// declaration files can name it.
export type { RunServerInfo } from './protocol.ts';
