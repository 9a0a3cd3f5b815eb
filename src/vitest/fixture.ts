/**
 * `test` and `it` with a `tokenpak` fixture. They are made by the setup
 * (Vitest refuses `test.extend()` outside a test run, and `tokenpak/vitest` is
 * also imported by `vitest.config.ts` for the plugin), and exported as live
 * bindings, so test files see the extended versions.
 */
import { test as baseTest, type TestAPI } from 'vitest';
import { TokenPakError } from '../errors.ts';
import type { TokenPakHandle } from './handle.ts';
import { currentSession } from './session.ts';

/** What the fixture adds to a test's context. */
export interface TokenPakFixtures {
  /** This test's TokenPak. */
  tokenpak: TokenPakHandle;
}

function notSetUp(): never {
  throw new TokenPakError(
    'config_invalid',
    "The tokenpak test fixture needs TokenPak's Vitest setup. Add to vitest.config.ts: test: { setupFiles: ['tokenpak/vitest/setup'] } (or plugins: [tokenpak()]).",
  );
}

/** Vitest's `test` with a `tokenpak` fixture: `test('…', async ({ tokenpak }) => { … })`. */
export let test: TestAPI<TokenPakFixtures> = notSetUp as unknown as TestAPI<TokenPakFixtures>;
/** Alias of {@link test}. */
export let it: TestAPI<TokenPakFixtures> = test;

/** Creates the extended `test` once per module instance. */
export function installFixture(): void {
  if (test !== (notSetUp as unknown)) return;
  test = it = baseTest.extend<TokenPakFixtures>({
    tokenpak: async ({ task }, use) => {
      const session = currentSession();
      if (!session) notSetUp();
      await use(session.handleFor(task));
    },
  });
}
