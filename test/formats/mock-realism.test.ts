/**
 * The mock's answers render correctly in every format: content parts (text
 * then a tool call), generated JSON for JSON modes, usage in every stream,
 * and an injected disconnect cutting the stream after N chunks with no
 * terminal event, as a dropped connection looks from the real API.
 */
import { parseSSE, type ParsedSSE } from 'tokenpak';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { requestFor, startFormatProxy, TEXT, type FormatProxy } from './helpers.ts';

let server: FormatProxy;
beforeAll(async () => {
  server = await startFormatProxy();
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

type Format = 'openai-chat' | 'openai-responses' | 'anthropic-messages';
const formats: Format[] = ['openai-chat', 'openai-responses', 'anthropic-messages'];

/** Reads a stream's events; a cut connection ends it with `error`. */
async function readStream(response: Response): Promise<{ events: ParsedSSE[]; error?: unknown }> {
  const events: ParsedSSE[] = [];
  try {
    for await (const event of parseSSE(response.body!)) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

/** Text and tool calls of a complete answer, whatever its format. */
function contentOf(format: Format, body: any): Array<{ text: string } | { call: string; args: unknown }> {
  switch (format) {
    case 'openai-chat': {
      const message = body.choices[0].message;
      return [
        ...(message.content ? [{ text: message.content }] : []),
        ...(message.tool_calls ?? []).map((c: any) => ({ call: c.function.name, args: JSON.parse(c.function.arguments) })),
      ];
    }
    case 'openai-responses':
      return body.output.map((item: any) => (item.type === 'message' ? { text: item.content[0].text } : { call: item.name, args: JSON.parse(item.arguments) }));
    case 'anthropic-messages':
      return body.content.map((block: any) => (block.type === 'text' ? { text: block.text } : { call: block.name, args: block.input }));
  }
}

/** The same, assembled from a stream's events. */
function contentOfStream(format: Format, events: ParsedSSE[]): Array<{ text: string } | { call: string; args: unknown }> {
  const data = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
  switch (format) {
    case 'openai-chat': {
      let text = '';
      const calls: Array<{ name: string; args: string }> = [];
      for (const chunk of data) {
        const delta = chunk.choices[0]?.delta ?? {};
        text += delta.content ?? '';
        for (const call of delta.tool_calls ?? []) {
          calls[call.index] ??= { name: call.function.name, args: '' };
          calls[call.index]!.args += call.function.arguments ?? '';
        }
      }
      return [...(text ? [{ text }] : []), ...calls.map((c) => ({ call: c.name, args: JSON.parse(c.args) }))];
    }
    case 'openai-responses':
      return contentOf(format, data.at(-1).response);
    case 'anthropic-messages': {
      const blocks: any[] = [];
      for (const event of data) {
        if (event.type === 'content_block_start') blocks[event.index] = { ...event.content_block, json: '' };
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') blocks[event.index].text += event.delta.text;
        if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') blocks[event.index].json += event.delta.partial_json;
      }
      return blocks.map((b) => (b.type === 'text' ? { text: b.text } : { call: b.name, args: JSON.parse(b.json) }));
    }
  }
}

/** The text deltas of a stream, joined (also of a stream that was cut). */
function streamedText(format: Format, events: ParsedSSE[]): string {
  const data = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
  switch (format) {
    case 'openai-chat':
      return data.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    case 'openai-responses':
      return data.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    case 'anthropic-messages':
      return data.filter((e) => e.type === 'content_block_delta' && e.delta.type === 'text_delta').map((e) => e.delta.text).join('');
  }
}

/** Usage reported at the end of a stream: [input, output]. */
function streamUsage(format: Format, events: ParsedSSE[]): [number, number] {
  const data = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
  switch (format) {
    case 'openai-chat':
      return [data.at(-1).usage.prompt_tokens, data.at(-1).usage.completion_tokens];
    case 'openai-responses':
      return [data.at(-1).response.usage.input_tokens, data.at(-1).response.usage.output_tokens];
    case 'anthropic-messages': {
      const delta = data.find((d) => d.type === 'message_delta');
      return [delta.usage.input_tokens, delta.usage.output_tokens];
    }
  }
}

const streaming = (format: Format) => (format === 'openai-chat' ? { stream: true, stream_options: { include_usage: true } } : { stream: true });
const partsAnswer = [{ text: 'Let me check.' }, { call: 'get_weather', args: { city: 'Oslo' } }];

describe.each(formats)('%s', (format) => {
  test('a content-parts answer (text, then a tool call) keeps both, in order', async () => {
    const { path, headers, body } = requestFor(format, 'parts-model');
    const response = await server.post(path, body, headers);
    expect(contentOf(format, await response.json())).toEqual(partsAnswer);
  });

  test('the same answer streamed assembles to the same content, with usage', async () => {
    const { path, headers, body } = requestFor(format, 'parts-model', streaming(format));
    const { events, error } = await readStream(await server.post(path, body, headers));
    expect(error).toBeUndefined();
    expect(contentOfStream(format, events)).toEqual(partsAnswer);
    const [input, output] = streamUsage(format, events);
    expect(input).toBeGreaterThan(0);
    expect(output).toBeGreaterThan(0);
    const logged = (await server.proxy.log.query({})).at(-1)!;
    expect([logged.inputTokens, logged.outputTokens]).toEqual([input, output]);
  });

  test('a generated answer to a JSON-mode request is valid JSON', async () => {
    const json =
      format === 'openai-chat'
        ? { response_format: { type: 'json_object' } }
        : format === 'openai-responses'
          ? { text: { format: { type: 'json_object' } } }
          : { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } } };
    const { path, headers, body } = requestFor(format, 'generated-model', json);
    const [answer] = contentOf(format, await (await server.post(path, body, headers)).json());
    const value = JSON.parse((answer as { text: string }).text);
    expect(value).toBeTypeOf('object');
    if (format === 'anthropic-messages') expect(value).toEqual({ ok: true });
  });

  test('an injected disconnect cuts the stream after N chunks, with no terminal event', async () => {
    server.mock.configure({ disconnect_after_chunks: 3, chunk_delay_ms: 20 });
    server.mock.failNext(1, 'disconnect');
    const { path, headers, body } = requestFor(format, 'text-model', streaming(format));
    const response = await server.post(path, body, headers);
    expect(response.status).toBe(200);
    const { events, error } = await readStream(response);
    expect(error).toBeInstanceOf(Error);
    expect(streamedText(format, events)).toBe('Hello, golden world!');
    const terminal = { 'openai-chat': '[DONE]', 'openai-responses': 'response.completed', 'anthropic-messages': 'message_stop' }[format];
    expect(events.some((e) => e.data === terminal || e.event === terminal)).toBe(false);
    const logged = (await server.proxy.log.query({})).at(-1)!;
    expect([logged.outcome, logged.errorCode]).toEqual(['error', 'provider_connection_error']);
    // The proxy keeps serving.
    const again = requestFor(format, 'text-model');
    expect((await server.post(again.path, again.body, again.headers)).status).toBe(200);
  });
});

test('the canned text arrives in token-sized chunks', async () => {
  const { path, headers, body } = requestFor('anthropic-messages', 'text-model', { stream: true });
  const { events } = await readStream(await server.post(path, body, headers));
  const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text as string);
  expect(deltas.join('')).toBe(TEXT);
  expect(deltas.length).toBe(TEXT.split(' ').length);
  expect(streamedText('anthropic-messages', events)).toBe(TEXT);
});
