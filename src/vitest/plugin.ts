/**
 * The Vite plugin: `plugins: [tokenpak()]` in `vitest.config.ts` adds the
 * global setup (one TokenPak for the whole run) and the setup file (each test
 * file's small client), and hands the setup file the options (through
 * Vitest's `provide`, so they must be plain data).
 */
import { resolve } from 'node:path';
import { checkOptions, type TokenPakVitestOptions } from './options-check.ts';

/** The `provide` key the options travel under. */
export const OPTIONS_KEY = 'tokenpak:options';

/** The setup file, as Vitest resolves it from the project root. */
export const SETUP_FILE = 'tokenpak/vitest/setup';

/** The global setup: starts the run's TokenPak. */
export const GLOBAL_SETUP_FILE = 'tokenpak/vitest/global-setup';

/** The parts of a Vite plugin this one uses (structurally a `Plugin` of Vite 6, 7 and 8). */
export interface TokenPakVitePlugin {
  name: 'tokenpak';
  config(config: { root?: string }): { test: { setupFiles: string[]; globalSetup: string[]; provide: Record<string, unknown> } };
}

/** Adds TokenPak's setup to Vitest: one TokenPak for the run, a scope per test, `useTokenPak()`, matchers. */
export function tokenpak(options: TokenPakVitestOptions = {}): TokenPakVitePlugin {
  checkOptions(options, 'tokenpak()');
  return {
    name: 'tokenpak',
    config(config) {
      // Workers may run elsewhere than the config's directory: send absolute paths.
      const root = resolve(config.root ?? process.cwd(), options.root ?? '.');
      const resolved = { ...options, root };
      if (typeof resolved.config === 'string') resolved.config = resolve(root, resolved.config);
      return { test: { setupFiles: [SETUP_FILE], globalSetup: [GLOBAL_SETUP_FILE], provide: { [OPTIONS_KEY]: resolved } } };
    },
  };
}

declare module 'vitest' {
  interface ProvidedContext {
    /** Options from the tokenpak() plugin, for tokenpak/vitest/setup. */
    'tokenpak:options': TokenPakVitestOptions;
  }
}
