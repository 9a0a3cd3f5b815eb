import { defineConfig } from 'tsup';

// One build with shared chunks, so that `tokenpak` and its sub-entries share a
// single copy of the error classes (instanceof works across entries).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'cli/main': 'src/cli/main.ts',
    'vitest/index': 'src/vitest/index.ts',
    'vitest/setup': 'src/vitest/setup.ts',
    'vitest/global-setup': 'src/vitest/global-setup.ts',
    // Internal: loaded synchronously by the setup when useTokenPak() is given options.
    'vitest/check-scope': 'src/vitest/check-scope.ts',
  },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  splitting: true,
  // No source maps: the build is not minified, so stack traces already read as the source does,
  // and maps were most of the packed package.
  sourcemap: false,
  clean: true,
  dts: { entry: { index: 'src/index.ts', 'vitest/index': 'src/vitest/index.ts', 'vitest/setup': 'src/vitest/setup.ts', 'vitest/global-setup': 'src/vitest/global-setup.ts' } },
  external: ['vitest', 'msw', 'pg', 'redis'],
  // Keep `node:` in imports: `node:sqlite` (the call log) exists only under that prefix.
  removeNodeProtocol: false,
});
