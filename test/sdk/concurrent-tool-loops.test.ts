/**
 * Two tool-loop conversations on the same rules, run at the same time, get
 * the same answers as each run alone, run after run: the mock answers from
 * the conversation a request carries, not from a count of calls it has seen.
 * The clients are the official `openai` and `@anthropic-ai/sdk` packages.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLAUDE_DEFAULT, GPT4_DEFAULT, startCannedProxy, WEATHER_ARGS, WEATHER_PARAMETERS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  server = await startCannedProxy();
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-test-not-used', maxRetries: 0 });
});
afterAll(() => server.close());

/** At most this many model calls per conversation, so that a loop that never ends still ends the test. */
const MAX_TURNS = 4;

/**
 * A tool loop as an application writes it, one model call per `next()`; each
 * step yields what the model answered: `call name(args)` or `text ...`.
 */
async function* openaiLoop(question: string): AsyncGenerator<string> {
  const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } }];
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: question }];
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    const completion = await openai.chat.completions.create({ model: 'gpt-4', messages, tools });
    const message = completion.choices[0]!.message;
    messages.push(message);
    const calls = (message.tool_calls ?? []).flatMap((call) => (call.type === 'function' ? [call] : []));
    if (calls.length === 0) {
      yield `text ${message.content}`;
      return;
    }
    for (const call of calls) {
      yield `call ${call.function.name}(${call.function.arguments})`;
      messages.push({ role: 'tool', tool_call_id: call.id, content: '18 degrees, sunny' });
    }
  }
}

async function* anthropicLoop(question: string): AsyncGenerator<string> {
  const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: WEATHER_PARAMETERS }];
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: question }];
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    const message = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 1024, messages, tools });
    messages.push({ role: 'assistant', content: message.content });
    const uses = message.content.flatMap((block) => (block.type === 'tool_use' ? [block] : []));
    if (uses.length === 0) {
      yield `text ${message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')}`;
      return;
    }
    messages.push({ role: 'user', content: uses.map((use) => ({ type: 'tool_result' as const, tool_use_id: use.id, content: '18 degrees, sunny' })) });
    for (const use of uses) yield `call ${use.name}(${JSON.stringify(use.input)})`;
  }
}

async function runAlone(loop: AsyncGenerator<string>): Promise<string[]> {
  const answers: string[] = [];
  for await (const answer of loop) answers.push(answer);
  return answers;
}

/** Runs two loops step by step in a fixed interleaving: B takes its steps before A takes its second. */
async function interleave(a: AsyncGenerator<string>, b: AsyncGenerator<string>): Promise<[string[], string[]]> {
  const answersA: string[] = [];
  const answersB: string[] = [];
  const step = async (loop: AsyncGenerator<string>, into: string[]) => {
    const next = await loop.next();
    if (!next.done) into.push(next.value);
    return !next.done;
  };
  await step(a, answersA);
  while (await step(b, answersB));
  while (await step(a, answersA));
  return [answersA, answersB];
}

const expectedCall = `call get_weather(${JSON.stringify(WEATHER_ARGS)})`;

describe.each([
  ['openai chat.completions', openaiLoop, GPT4_DEFAULT],
  ['anthropic messages', anthropicLoop, CLAUDE_DEFAULT],
] as const)('%s', (_name, loop, expectedText) => {
  test('a conversation alone: one tool call, then the canned answer', async () => {
    expect(await runAlone(loop('What is the weather in Paris?'))).toEqual([expectedCall, `text ${expectedText}`]);
  });

  test('two conversations at once get the answers each gets alone, run after run', async () => {
    const alone = await runAlone(loop('What is the weather in Paris?'));
    expect(alone).toEqual([expectedCall, `text ${expectedText}`]);
    for (let run = 0; run < 5; run++) {
      const together = await Promise.all([runAlone(loop('What is the weather in Paris?')), runAlone(loop('Weather in Paris, please'))]);
      expect(together).toEqual([alone, alone]);
      // One conversation overtakes the other between its tool call and its answer.
      expect(await interleave(loop('What is the weather in Paris?'), loop('Weather in Paris, please'))).toEqual([alone, alone]);
    }
  });
});
