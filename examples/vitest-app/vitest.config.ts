import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The one line: a TokenPak per test file, the SDKs pointed at it, matchers and transcripts.
    setupFiles: ['tokenpak/vitest/setup'],
  },
});
