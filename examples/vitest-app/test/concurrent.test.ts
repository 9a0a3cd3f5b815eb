/**
 * Concurrent tests: each test's calls and mock changes are its own, whether
 * it passes its handle's URLs to the code under test or the code uses the
 * clients configured by the environment.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { test } from 'tokenpak/vitest';
import { createSupportDesk, desk } from '../src/support-desk.ts';

describe.concurrent('three tickets at once', () => {
  for (const [ticket, latency] of [['billing', 80], ['shipping', 10], ['login', 40]] as const) {
    test(ticket, async ({ tokenpak }) => {
      tokenpak.mock().setPatterns('gpt-4', { [ticket]: `A ${ticket} ticket.` });
      tokenpak.mock().configure({ latency_ms: latency });
      const desk = createSupportDesk({
        openai: new OpenAI({ baseURL: tokenpak.openaiBaseURL }),
        anthropic: new Anthropic({ baseURL: tokenpak.anthropicBaseURL }),
      });

      expect(await desk.summarize(`A ${ticket} problem`)).toBe(`A ${ticket} ticket.`);
      await desk.draftReply(`A ${ticket} problem`);

      expect(tokenpak).toHaveMadeCalls(2);
      expect(tokenpak.calls.map((call) => call.prompt)).toEqual([`A ${ticket} problem`, `A ${ticket} problem`]);
    });
  }
});

// The app's own clients (configured by OPENAI_BASE_URL / ANTHROPIC_BASE_URL) work too: their fetch
// calls are tagged with the test whose code made them, so concurrent tests still see only their own.
describe.concurrent('three tickets at once, through the app as it is', () => {
  for (const [ticket, latency] of [['refund', 60], ['invoice', 5], ['password', 30]] as const) {
    test(ticket, async ({ tokenpak }) => {
      tokenpak.mock().setPatterns('gpt-4', { [ticket]: `About a ${ticket}.` }, { replace: true });
      tokenpak.mock().configure({ latency_ms: latency });

      expect(await desk.summarize(`My ${ticket} question`)).toBe(`About a ${ticket}.`);

      expect(tokenpak).toHaveMadeCalls(1);
      expect(tokenpak).toHaveReceivedPrompt(`My ${ticket} question`);
    });
  }
});
