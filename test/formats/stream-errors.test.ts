/**
 * A provider failing after a stream has started (a real upstream sending an
 * overload mid-stream) is rendered as each API renders it: OpenAI chat as a
 * data line holding an error and no [DONE], Responses as `error` then
 * `response.failed`, Anthropic as an `error` event. And an answer cut at
 * max tokens ends a Responses stream with `response.incomplete`.
 */
import { describe, expect, test } from 'vitest';
import type { StreamEvent } from '../../src/canonical/types.ts';
import { ProviderError } from '../../src/errors.ts';
import { anthropicMessagesFormat } from '../../src/formats/anthropic-messages.ts';
import { openaiChatFormat } from '../../src/formats/openai-chat.ts';
import { openaiResponsesFormat } from '../../src/formats/openai-responses.ts';
import { parseSSE } from '../../src/formats/sse.ts';
import type { WireFormat } from '../../src/formats/types.ts';
import type { CallRecord } from '../../src/logs/types.ts';
import type { RoutedStream } from '../../src/canonical/outcome.ts';

function routed(events: StreamEvent[]): RoutedStream {
  return {
    requestId: 'req-1',
    route: { name: 'claude-3-sonnet', settings: { provider: 'anthropic' }, chain: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
    provider: 'anthropic',
    upstreamModel: 'claude-sonnet-4-5',
    attempts: [],
    events: (async function* () {
      yield* events;
    })(),
    done: Promise.resolve({} as CallRecord),
  };
}

async function render(format: WireFormat, events: StreamEvent[], echo?: Record<string, unknown>) {
  const chunks: string[] = [];
  for await (const chunk of format.renderStream(routed(events), { requestId: 'req-1', ...(echo ? { echo } : {}) })) chunks.push(chunk);
  const parsed = [];
  for await (const event of parseSSE(ReadableStream.from(chunks))) parsed.push(event);
  return parsed;
}

const overloaded = new ProviderError('provider_overloaded', 'Provider "anthropic" is overloaded (HTTP 529).', { provider: 'anthropic', status: 529, retryable: true });
const failing: StreamEvent[] = [
  { type: 'start', id: 'up-1', model: 'claude-sonnet-4-5' },
  { type: 'text-delta', text: 'Hello' },
  { type: 'error', error: overloaded },
];

describe('a failure after the stream started', () => {
  test('OpenAI chat: a data line with the error object, and no [DONE]', async () => {
    const events = await render(openaiChatFormat, failing);
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ error: { message: 'Provider "anthropic" is overloaded (HTTP 529).', type: 'server_error', param: null, code: 'provider_overloaded' } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  });

  test('OpenAI responses: an error event, then response.failed', async () => {
    const events = await render(openaiResponsesFormat, failing);
    expect(events.slice(-2).map((e) => e.event)).toEqual(['error', 'response.failed']);
    const error = JSON.parse(events.at(-2)!.data);
    expect(error).toMatchObject({ type: 'error', code: 'provider_overloaded', message: 'Provider "anthropic" is overloaded (HTTP 529).' });
    const failed = JSON.parse(events.at(-1)!.data);
    expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(failed.sequence_number).toBe(error.sequence_number + 1);
  });

  test('Anthropic: an error event with overloaded_error, and no message_stop', async () => {
    const events = await render(anthropicMessagesFormat, failing);
    expect(events.at(-1)!.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Provider "anthropic" is overloaded (HTTP 529).' }, request_id: 'req-1' });
    expect(events.some((e) => e.event === 'message_stop')).toBe(false);
  });
});

test('an answer cut at the token limit ends a Responses stream with response.incomplete', async () => {
  const events = await render(openaiResponsesFormat, [
    { type: 'start', id: 'up-1', model: 'm' },
    { type: 'text-delta', text: 'Hel' },
    { type: 'finish', stopReason: 'length', usage: { inputTokens: 3, outputTokens: 1 } },
  ]);
  const last = JSON.parse(events.at(-1)!.data);
  expect(last.type).toBe('response.incomplete');
  expect(last.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 1 } });
  expect(last.response.output[0]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'Hel' }] });
});

test('Anthropic message_start reports input tokens when the provider knows them up front, and message_delta always does', async () => {
  const events = await render(anthropicMessagesFormat, [
    { type: 'start', id: 'up-1', model: 'm' },
    { type: 'text-delta', text: 'Hi' },
    { type: 'finish', stopReason: 'stop', stopSequence: '###', usage: { inputTokens: 12, outputTokens: 1 } },
  ]);
  expect(JSON.parse(events[0]!.data).message.usage.input_tokens).toBe(0);
  const delta = JSON.parse(events.find((e) => e.event === 'message_delta')!.data);
  expect(delta).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: '###' }, usage: { input_tokens: 12, output_tokens: 1 } });
});
