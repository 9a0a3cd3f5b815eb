/**
 * The official SDKs, pointed at a replaying TokenPak, get what they got when
 * the stream was recorded: the same chunks (openai) and the same final
 * message (Anthropic), with no API reachable.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { beforeEach, expect, it } from 'vitest';
import { replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { proxyWith, realConfig, tempDir, urlsOf, useFakes } from './helpers.ts';

const fakes = useFakes();
let openai: FakeUpstream;
let anthropic: FakeUpstream;
let scratch: ReturnType<typeof tempDir>;
beforeEach(() => ({ openai, anthropic, scratch } = fakes));

async function twice<T>(run: (baseUrl: string) => Promise<T>): Promise<{ recorded: T; replayed: T }> {
  const recorder = await proxyWith(realConfig(urlsOf(openai, anthropic), { mode: 'record', dir: scratch.dir }));
  const recorded = await run(recorder.url).finally(() => recorder.close());
  await Promise.all([openai.close(), anthropic.close()]);
  const replayer = await proxyWith(realConfig(urlsOf(openai, anthropic), { mode: 'replay', dir: scratch.dir, timing: 'instant' }));
  const replayed = await run(replayer.url).finally(() => replayer.close());
  return { recorded, replayed };
}

it('openai: a streamed tool call replays to the SDK chunk for chunk', async () => {
  openai.fallback = replies.answer('openai-chat-tool');
  const { recorded, replayed } = await twice(async (url) => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  });
  const calls = replayed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  expect(calls[0]?.function?.name).toBe('get_weather');
  // The recording run went through TokenPak's rendering; the replay gives the API's own chunks.
  // Both carry the same content, finish reason and usage.
  const summary = (chunks: typeof replayed) => ({
    args: chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join(''),
    finish: chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean),
    usage: chunks.find((c) => c.usage)?.usage?.completion_tokens,
  });
  expect(summary(replayed)).toEqual(summary(recorded));
  expect(summary(replayed).args.length).toBeGreaterThan(5);
});

it('@anthropic-ai/sdk: messages.stream().finalMessage() is the same message after replay', async () => {
  anthropic.fallback = replies.answer('anthropic-messages-tool');
  const { recorded, replayed } = await twice(async (url) => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
    const message = await client.messages
      .stream({
        model: 'claude-3-sonnet',
        max_tokens: 512,
        messages: [{ role: 'user', content: 'weather in Paris?' }],
        tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      })
      .finalMessage();
    return message;
  });
  expect(replayed.content.find((b) => b.type === 'tool_use')).toMatchObject({ type: 'tool_use', name: 'get_weather' });
  expect(replayed.content).toEqual(recorded.content);
  expect(replayed.stop_reason).toBe(recorded.stop_reason);
  expect(replayed.usage.output_tokens).toBe(recorded.usage.output_tokens);
});
