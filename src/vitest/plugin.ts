/**
 * The Vite plugin: `plugins: [tokenpak()]` in `vitest.config.ts` adds the
 * setup file and hands it the options (through Vitest's `provide`, so they
 * must be plain data).
 */
import { resolve } from 'node:path';
import { checkOptions, type TokenPakVitestOptions } from './options.ts';

/** The `provide` key the options travel under. */
export const OPTIONS_KEY = 'tokenpak:options';

/** The setup file, as Vitest resolves it from the project root. */
export const SETUP_FILE = 'tokenpak/vitest/setup';

/** The parts of a Vite plugin this one uses (structurally a `Plugin` of Vite 6, 7 and 8). */
export interface TokenPakVitePlugin {
  name: 'tokenpak';
  config(config: { root?: string }): { test: { setupFiles: string[]; provide: Record<string, unknown> } };
}

/** Adds TokenPak's setup to Vitest: a TokenPak per test file, `useTokenPak()`, matchers. */
export function tokenpak(options: TokenPakVitestOptions = {}): TokenPakVitePlugin {
  checkOptions(options, 'tokenpak()');
  return {
    name: 'tokenpak',
    config(config) {
      // Workers may run elsewhere than the config's directory: send absolute paths.
      const root = resolve(config.root ?? process.cwd(), options.root ?? '.');
      const resolved = { ...options, root };
      if (typeof resolved.config === 'string') resolved.config = resolve(root, resolved.config);
      return { test: { setupFiles: [SETUP_FILE], provide: { [OPTIONS_KEY]: resolved } } };
    },
  };
}

declare module 'vitest' {
  interface ProvidedContext {
    /** Options from the tokenpak() plugin, for tokenpak/vitest/setup. */
    'tokenpak:options': TokenPakVitestOptions;
  }
}
