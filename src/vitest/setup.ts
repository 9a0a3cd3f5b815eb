/**
 * `tokenpak/vitest/setup`: add it to `setupFiles` (or use the `tokenpak()`
 * plugin). Before each test file is imported, it starts that file's TokenPak
 * and points `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL` and `TOKENPAK_URL` at it.
 */
import { inject } from 'vitest';
import { installFixture } from './fixture.ts';
import { OPTIONS_KEY } from './plugin.ts';
import { setupTokenPak } from './session.ts';

installFixture();
await setupTokenPak(inject(OPTIONS_KEY) ?? {});
