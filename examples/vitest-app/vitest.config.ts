import { defineConfig } from 'vitest/config';
import { tokenpak } from 'tokenpak/vitest';

export default defineConfig({
  // The one line: one TokenPak for the run, the SDKs pointed at it, a scope per test, matchers and transcripts.
  plugins: [tokenpak()],
});
