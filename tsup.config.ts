import { defineConfig, type Options } from 'tsup';

const shared = {
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  // No source maps: the build is not minified, so stack traces already read as the source does,
  // and maps were most of the packed package.
  sourcemap: false,
  external: ['vitest', 'msw', 'pg', 'redis'],
  // Keep `node:` in imports: `node:sqlite` (the call log) exists only under that prefix.
  removeNodeProtocol: false,
} satisfies Options;

export default defineConfig([
  // The library: one build with shared chunks, so that `tokenpak` and its sub-entries share a
  // single copy of the error classes (instanceof works across entries).
  {
    ...shared,
    entry: {
      index: 'src/index.ts',
      'vitest/index': 'src/vitest/index.ts',
      'vitest/setup': 'src/vitest/setup.ts',
      'vitest/global-setup': 'src/vitest/global-setup.ts',
      // Internal: loaded synchronously by the setup when useTokenPak() is given options.
      'vitest/check-scope': 'src/vitest/check-scope.ts',
    },
    splitting: true,
    // Everything but the CLI's file, which the build below writes (the two run at once).
    clean: ['!cli/**'],
    dts: { entry: { index: 'src/index.ts', 'vitest/index': 'src/vitest/index.ts', 'vitest/setup': 'src/vitest/setup.ts', 'vitest/global-setup': 'src/vitest/global-setup.ts' } },
  },
  // The CLI: one file (its lazily loaded parts included, evaluated only when used), since a
  // start-up that resolves and reads some 30 chunk files took 50-57 ms longer (issue 14). It
  // is a process of its own, so its copy of the error classes meets no other.
  {
    ...shared,
    entry: { 'cli/main': 'src/cli/main.ts' },
    splitting: false,
    clean: false,
  },
]);
