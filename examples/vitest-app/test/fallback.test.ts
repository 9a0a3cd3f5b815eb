/**
 * Production routing (config.prod.yaml: gpt-4 → openai, falling back to
 * anthropic), with each real provider answered by a local stand-in that speaks
 * its API: TokenPak's real OpenAI and Anthropic provider code runs, no network.
 */
import { expect, test } from 'vitest';
import { useTokenPak } from 'tokenpak/vitest';
import { desk } from '../src/support-desk.ts';

const tokenpak = useTokenPak({ config: 'config.prod.yaml', simulateProviders: true });

test('OpenAI answers when it is up', async () => {
  tokenpak.mock('openai').setDefault('gpt-4', 'Summary written by OpenAI.');
  expect(await desk.summarize('My order is late')).toBe('Summary written by OpenAI.');
  expect(tokenpak).toHaveCalledProvider('openai', 1);
  expect(tokenpak).not.toHaveCalledProvider('anthropic');
});

test('when OpenAI is down, Anthropic answers and the app carries on', async () => {
  tokenpak.mock('openai').configure({ failure_rate: 1, failure: 503 });
  tokenpak.mock('anthropic').setDefault('gpt-4', 'Summary written by Claude.');

  expect(await desk.summarize('My order is late')).toBe('Summary written by Claude.');
  expect(tokenpak).toHaveFallenBackTo('anthropic');
  // One attempt per try: OpenAI's (its retries included), then Anthropic's answer.
  const attempts = tokenpak.lastCall()!.attempts;
  expect(attempts[0]).toMatchObject({ provider: 'openai', status: 503, simulated: true });
  expect(attempts.at(-1)).toMatchObject({ provider: 'anthropic', status: 200, simulated: true });
});

test('a rate limit mid-route falls back for streamed replies too', async () => {
  tokenpak.mock('anthropic').failNext(3, 429);
  tokenpak.mock('openai').setDefault('claude-3-sonnet', 'Reply written by OpenAI.');
  expect(await desk.draftReply('Where is my parcel?')).toBe('Reply written by OpenAI.');
  expect(tokenpak).toHaveFallenBackTo('openai');
});
