/**
 * The Vitest hooks of a test file: each test runs in its own state (so the
 * calls its code makes are tagged with it), a failing test gets its
 * transcript (in its error, and attached to the test for the Vitest UI and
 * the HTML and JSON reporters), and a test whose mock change was refused
 * fails with the reason.
 */
import * as vitest from 'vitest';
import { afterAll, afterEach, aroundEach, expect, type RunnerTestCase } from 'vitest';
import { TokenPakError } from '../errors.ts';
import { matchers } from './matchers.ts';
import type { TokenPakVitestOptions } from './options-check.ts';
import { TRANSCRIPT_MARK } from './transcript.ts';

declare module 'vitest' {
  interface TaskMeta {
    /** TokenPak's transcript of a failed test (the JSON reporter's `meta`). */
    tokenpak?: { transcript: string };
  }
}

type RecordArtifact = (task: RunnerTestCase, artifact: { type: string; message: string; attachments: Array<{ name: string; contentType: string; body: string }> }) => Promise<unknown>;

/**
 * Attaches the transcript to the test as an artifact (Vitest 4+), which the
 * Vitest UI and the HTML reporter show. (An annotation cannot be added once
 * the test has failed; an artifact can.)
 */
async function attach(task: RunnerTestCase, transcript: string): Promise<void> {
  const record = (vitest as unknown as { recordArtifact?: RecordArtifact }).recordArtifact;
  if (typeof record !== 'function') return;
  await record(task, { type: 'tokenpak:transcript', message: transcript, attachments: [{ name: 'tokenpak-transcript.txt', contentType: 'text/plain', body: transcript }] });
}

/** What the hooks need from the file's session (session.ts). */
export interface HookTarget<State> {
  startTest(task: RunnerTestCase): State;
  runInTest(state: State, run: () => Promise<void>): Promise<void>;
  endTest(state: State): void;
  stateOf(task: RunnerTestCase): State | undefined;
  /** The test used TokenPak (its handle, or a call was routed to it). */
  touched(state: State): boolean;
  transcriptOf(state: State): string;
  /** Refused mock changes of the test that nobody awaited. */
  unobservedRefusals(state: State): Error[];
  close(): Promise<void>;
}

export function registerHooks<State>(session: HookTarget<State>, options: TokenPakVitestOptions): void {
  expect.extend(matchers);

  // Vitest reads which fixtures a hook uses from its parameters: they must be destructured.
  aroundEach(async (runTest, { task }) => {
    const state = session.startTest(task);
    try {
      await session.runInTest(state, runTest);
    } finally {
      session.endTest(state);
    }
  });

  // Registered first, so it runs after the test file's own afterEach hooks and sees their calls too.
  afterEach(async ({ task }) => {
    const state = session.stateOf(task);
    if (!state) return;
    const result = task.result;
    const refused = session.unobservedRefusals(state);
    if (options.transcriptOnFailure !== false && (result?.state === 'fail' || refused.length > 0) && session.touched(state)) {
      const transcript = session.transcriptOf(state);
      const error = result?.errors?.[0];
      if (error && typeof error.message === 'string') {
        if (!error.message.includes(TRANSCRIPT_MARK)) error.message += `\n\n${transcript}`;
      } else if (refused.length === 0) {
        console.error(transcript);
      }
      task.meta.tokenpak = { transcript };
      await attach(task, transcript);
    }
    if (refused.length > 0) {
      throw new TokenPakError('invalid_request', `TokenPak refused ${refused.length === 1 ? 'a mock change' : `${refused.length} mock changes`} made by this test:\n${refused.map((e) => `  - ${e.message}`).join('\n')}`);
    }
  });

  afterAll(() => session.close());
}
