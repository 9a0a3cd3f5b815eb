/**
 * The official `@anthropic-ai/sdk` package as a client of TokenPak: messages,
 * plain and streamed, a tool-use round trip, structured output, stop
 * sequences, the models list, and 429 / 529 as the SDK's typed errors.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CLAUDE_DEFAULT, startSdkProxy, WEATHER_ANSWER, WEATHER_ARGS, WEATHER_PARAMETERS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let anthropic: Anthropic;

beforeAll(async () => {
  server = await startSdkProxy();
  // ANTHROPIC_BASE_URL=http://localhost:8000 does the same for code that builds `new Anthropic()`.
  anthropic = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-test-not-used', maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const weatherTool = { name: 'get_weather', description: 'Current weather in a city', input_schema: WEATHER_PARAMETERS };

describe('messages', () => {
  test('create returns a message with a text block, stop_reason and usage', async () => {
    const message = await anthropic.messages.create({
      model: 'claude-3-sonnet',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.id).toMatch(/^msg_/);
    expect(message.model).toBe('claude-3-sonnet');
    expect(message.content).toEqual([{ type: 'text', text: CLAUDE_DEFAULT }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.stop_sequence).toBeNull();
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(server.mock.calls[0]!.request.system).toBe('You are terse.');
  });

  test('the request id is reported in the request-id header, as the SDK reads it', async () => {
    const { response, request_id } = await anthropic.messages
      .create({ model: 'claude-3-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(request_id).toBe(response.headers.get('x-request-id'));
  });

  test('stream emits the Messages event sequence, and the helper builds the final message', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-3-sonnet', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello' }] });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(text).toBe(CLAUDE_DEFAULT);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(3);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: CLAUDE_DEFAULT }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  test('max_tokens cuts the answer with stop_reason max_tokens', async () => {
    const message = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(2);
  });

  test('a stop sequence in the answer stops it there, with stop_reason stop_sequence', async () => {
    const message = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 100, stop_sequences: ['[test'], messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Mock Claude response: ' }]);
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('[test');
  });

  test('tool-use round trip: a tool_use block, then the answer to the tool_result', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 1024, tools: [weatherTool], messages });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block) => block.type === 'tool_use');
    if (use?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(use.name).toBe('get_weather');
    expect(use.input).toEqual(WEATHER_ARGS);

    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees, sunny' }] });
    const second = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 1024, tools: [weatherTool], messages });
    expect(second.content).toEqual([{ type: 'text', text: WEATHER_ANSWER }]);
    expect(second.stop_reason).toBe('end_turn');
    expect(server.mock.calls[1]!.request.messages.at(-1)).toEqual({ role: 'tool', content: [{ type: 'tool-result', toolCallId: use.id, content: '18 degrees, sunny' }] });
  });

  test('streamed tool use arrives as input_json_delta events that the helper assembles', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-3-sonnet', max_tokens: 1024, tools: [weatherTool], messages: [{ role: 'user', content: 'weather?' }] });
    let partials = 0;
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') partials++;
    const final = await stream.finalMessage();
    expect(partials).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: WEATHER_ARGS });
  });

  test('structured output: output_config.format gives JSON that fits the schema', async () => {
    const message = await anthropic.messages.create({
      model: 'gpt-4o-mini',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Give me a colour' }],
      output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { name: { type: 'string' }, rgb: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 }, minItems: 3, maxItems: 3 } }, required: ['name', 'rgb'], additionalProperties: false } } },
    });
    const block = message.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    const value = JSON.parse(block.text);
    expect(typeof value.name).toBe('string');
    expect(value.rgb).toHaveLength(3);
    expect(value.rgb.every((n: number) => Number.isInteger(n) && n >= 0 && n <= 255)).toBe(true);
  });

  test('a forced tool_choice makes a generated answer call that tool with valid input', async () => {
    const message = await anthropic.messages.create({
      model: 'gpt-4o-mini',
      max_tokens: 1024,
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Anything' }],
    });
    expect(message.stop_reason).toBe('tool_use');
    const use = message.content[0];
    if (use?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(Object.keys(use.input as object).sort()).toEqual(['city', 'unit']);
    expect(['celsius', 'fahrenheit']).toContain((use.input as { unit: string }).unit);
  });
});

describe('models and errors', () => {
  test('models.list returns the configured models in Anthropic shape', async () => {
    const models = [];
    for await (const model of anthropic.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(['gpt-4', 'claude-3-sonnet', 'gpt-4o-mini']);
    expect(models[0]).toMatchObject({ type: 'model', display_name: 'gpt-4' });
    expect(Number.isNaN(Date.parse(models[0]!.created_at))).toBe(false);
  });

  test('models.retrieve returns one model, and a NotFoundError for an unknown one', async () => {
    expect(await anthropic.models.retrieve('gpt-4')).toMatchObject({ type: 'model', id: 'gpt-4', display_name: 'gpt-4' });
    const error = await anthropic.models.retrieve('claude-9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('not_found_error');
  });

  test('an injected 429 is a RateLimitError with rate_limit_error and retry-after', async () => {
    server.mock.failNext(1, 429);
    const error = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const rateLimit = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.type).toBe('rate_limit_error');
    // The mock's default (retry_after: immediate) asks the SDK to retry at once; retry-after-ms is read first.
    expect(rateLimit.headers.get('retry-after-ms')).toBe('1');
    expect(rateLimit.headers.get('retry-after')).toBe('0');
    expect(rateLimit.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  test('an injected 529 is an overloaded_error that the SDK retries like the real API', async () => {
    const retrying = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-test', maxRetries: 1 });
    server.mock.failNext(2, 529);
    const error = await retrying.messages.create({ model: 'claude-3-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    expect(server.mock.calls).toHaveLength(2);

    server.mock.reset();
    server.mock.failNext(1, 529);
    const message = await retrying.messages.create({ model: 'claude-3-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: CLAUDE_DEFAULT }]);
    expect(server.mock.calls.map((c) => c.outcome)).toEqual(['error', 'ok']);
  });

  test('an injected 500 is an InternalServerError with api_error', async () => {
    server.mock.failNext(1, 500);
    const error = await anthropic.messages.create({ model: 'claude-3-sonnet', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
  });

  test('a missing max_tokens is a BadRequestError that names the field', async () => {
    const error = await anthropic.messages
      .create({ model: 'claude-3-sonnet', messages: [{ role: 'user', content: 'hi' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toMatch(/max_tokens: Field required/);
  });
});
