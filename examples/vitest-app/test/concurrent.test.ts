/**
 * Concurrent tests share the file's TokenPak URL (OPENAI_BASE_URL), so each
 * passes its own handle's URLs to the code under test: then its calls and mock
 * changes are its own.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect } from 'vitest';
import { test } from 'tokenpak/vitest';
import { createSupportDesk } from '../src/support-desk.ts';

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
