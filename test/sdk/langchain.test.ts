/**
 * LangChain's ChatOpenAI and ChatAnthropic pointed at TokenPak, with a config
 * that keeps canned `default:` answers and a plain `tool_call` pattern:
 * invoke and stream.
 */
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CLAUDE_DEFAULT, GPT4_DEFAULT, startCannedProxy, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let chatModels: Record<'ChatOpenAI' | 'ChatAnthropic', BaseChatModel>;

beforeAll(async () => {
  server = await startCannedProxy();
  chatModels = {
    ChatOpenAI: new ChatOpenAI({ model: 'gpt-4', apiKey: 'sk-test-not-used', maxRetries: 0, configuration: { baseURL: `${server.url}/v1` } }),
    ChatAnthropic: new ChatAnthropic({ model: 'claude-3-sonnet', apiKey: 'sk-ant-test-not-used', maxRetries: 0, anthropicApiUrl: server.url }),
  };
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

describe.each([
  ['ChatOpenAI', GPT4_DEFAULT],
  ['ChatAnthropic', CLAUDE_DEFAULT],
] as const)('%s', (name, expected) => {
  test('invoke returns the canned answer', async () => {
    const message = await chatModels[name].invoke('Say hello');
    expect(message.text).toBe(expected);
  });

  test('stream yields the canned answer in several chunks', async () => {
    const chunks: string[] = [];
    for await (const chunk of await chatModels[name].stream('Say hello')) chunks.push(chunk.text);
    expect(chunks.join('')).toBe(expected);
    expect(chunks.filter(Boolean).length).toBeGreaterThan(2);
  });
});
