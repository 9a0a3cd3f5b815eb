/**
 * The official `openai` package as a client of TokenPak: Chat Completions and
 * Responses, plain and streamed, a tool-call round trip, JSON modes, the
 * models list, and errors that surface as the SDK's own typed errors, with
 * its built-in retries behaving as against the real API.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { GPT4_DEFAULT, startSdkProxy, WEATHER_ANSWER, WEATHER_ARGS, WEATHER_PARAMETERS, type SdkProxy } from './helpers.ts';

let server: SdkProxy;
let openai: OpenAI;

beforeAll(async () => {
  server = await startSdkProxy();
  // OPENAI_BASE_URL=http://localhost:8000/v1 does the same for code that builds `new OpenAI()`.
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather in a city', parameters: WEATHER_PARAMETERS, strict: true },
} as const;

describe('chat.completions', () => {
  test('create returns the canned answer as a chat.completion', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-4',
      messages: [
        { role: 'developer', content: 'You are terse.' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0.2,
      max_completion_tokens: 200,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: GPT4_DEFAULT });
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    // The developer message reached the provider as the system prompt.
    expect(server.mock.calls[0]!.request.system).toBe('You are terse.');
  });

  test('stream yields token-sized chunks, the usage chunk when asked, and ends at [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(GPT4_DEFAULT);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.completion_tokens).toBeGreaterThan(0);
  });

  test('the stream helper assembles the final completion', async () => {
    const stream = openai.chat.completions.stream({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(GPT4_DEFAULT);
  });

  test('max_tokens cuts the answer with finish_reason length', async () => {
    const completion = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.usage!.completion_tokens).toBe(3);
    expect(GPT4_DEFAULT.startsWith(completion.choices[0]!.message.content!)).toBe(true);
  });

  test('tool-call round trip: tool_calls, then the answer to the tool result', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await openai.chat.completions.create({ model: 'gpt-4', messages, tools: [weatherTool], tool_choice: 'auto' });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(WEATHER_ARGS);

    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 18, "sky": "sunny"}' });
    const second = await openai.chat.completions.create({ model: 'gpt-4', messages, tools: [weatherTool] });
    expect(second.choices[0]!.message.content).toBe(WEATHER_ANSWER);
    expect(second.choices[0]!.finish_reason).toBe('stop');
    // The provider saw the tool result in canonical form.
    const seen = server.mock.calls[1]!.request.messages;
    expect(seen.at(-1)).toEqual({ role: 'tool', content: [{ type: 'tool-result', toolCallId: call.id, content: '{"temperature": 18, "sky": "sunny"}' }] });
  });

  test('streamed tool calls arrive as indexed deltas that the SDK assembles', async () => {
    const stream = openai.chat.completions.stream({ model: 'gpt-4', messages: [{ role: 'user', content: 'weather please' }], tools: [weatherTool] });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const final = await stream.finalChatCompletion();
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.every((d) => d.index === 0)).toBe(true);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    const call = final.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(JSON.parse(call.function.arguments)).toEqual(WEATHER_ARGS);
  });

  test('JSON mode: a generated answer is valid JSON, and a json_schema answer fits the schema', async () => {
    const jsonObject = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Describe Paris as JSON' }],
      response_format: { type: 'json_object' },
    });
    expect(typeof JSON.parse(jsonObject.choices[0]!.message.content!)).toBe('object');

    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'integer', minimum: 1 }, landmarks: { type: 'array', items: { type: 'string' } } },
      required: ['city', 'population', 'landmarks'],
      additionalProperties: false,
    };
    const structured = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Describe Paris' }],
      response_format: { type: 'json_schema', json_schema: { name: 'city', schema, strict: true } },
    });
    const value = JSON.parse(structured.choices[0]!.message.content!);
    expect(Object.keys(value).sort()).toEqual(['city', 'landmarks', 'population']);
    expect(typeof value.city).toBe('string');
    expect(Number.isInteger(value.population) && value.population >= 1).toBe(true);
    expect(Array.isArray(value.landmarks) && value.landmarks.every((l: unknown) => typeof l === 'string')).toBe(true);
  });
});

describe('responses', () => {
  test('create returns a response with a message output item', async () => {
    const response = await openai.responses.create({ model: 'gpt-4', input: 'Say hello', instructions: 'Be brief.' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(GPT4_DEFAULT);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(response.instructions).toBe('Be brief.');
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    expect(server.mock.calls[0]!.request.system).toBe('Be brief.');
  });

  test('stream emits the lifecycle events in order with increasing sequence numbers', async () => {
    const stream = await openai.responses.create({ model: 'gpt-4', input: [{ role: 'user', content: 'Say hello' }], stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = [...new Set(events.map((e) => e.type))];
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe(GPT4_DEFAULT);
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('expected response.completed last');
    expect(completed.response.usage!.output_tokens).toBeGreaterThan(0);
  });

  test('the stream helper gives the final response', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4', input: 'hello' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(GPT4_DEFAULT);
  });

  test('function-call round trip, streamed, with function_call_arguments events', async () => {
    const tool = { type: 'function' as const, name: 'get_weather', parameters: WEATHER_PARAMETERS, strict: true };
    const stream = await openai.responses.create({ model: 'gpt-4', input: 'What is the weather in Paris?', tools: [tool], stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types.indexOf('response.function_call_arguments.done')).toBeLessThan(types.lastIndexOf('response.output_item.done'));
    const done = events.at(-1);
    if (done?.type !== 'response.completed') throw new Error('expected response.completed last');
    const call = done.response.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error('expected a function_call item');
    expect(JSON.parse(call.arguments)).toEqual(WEATHER_ARGS);

    const second = await openai.responses.create({
      model: 'gpt-4',
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: '18 degrees, sunny' },
      ],
      tools: [tool],
    });
    expect(second.output_text).toBe(WEATHER_ANSWER);
  });

  test('text.format json_schema gives JSON that fits the schema', async () => {
    const response = await openai.responses.create({
      model: 'gpt-4o-mini',
      input: 'Give me a colour',
      text: { format: { type: 'json_schema', name: 'colour', strict: true, schema: { type: 'object', properties: { name: { type: 'string' }, hex: { type: 'string' } }, required: ['name', 'hex'], additionalProperties: false } } },
    });
    expect(Object.keys(JSON.parse(response.output_text)).sort()).toEqual(['hex', 'name']);
  });
});

describe('models and errors', () => {
  test('models.list returns the configured models', async () => {
    const ids = [];
    for await (const model of openai.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toEqual(['gpt-4', 'claude-3-sonnet', 'gpt-4o-mini']);
  });

  test('models.retrieve returns one model, and a NotFoundError for an unknown one', async () => {
    expect(await openai.models.retrieve('claude-3-sonnet')).toMatchObject({ id: 'claude-3-sonnet', object: 'model', owned_by: 'mock' });
    const error = await openai.models.retrieve('gpt-5').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as { code?: string }).code).toBe('model_not_found');
  });

  test('an injected 429 is a RateLimitError with retry-after', async () => {
    server.mock.failNext(1, 429);
    const error = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    // The mock's default (retry_after: immediate) asks the SDK to retry at once; retry-after-ms is read first.
    expect(rateLimit.headers.get('retry-after-ms')).toBe('1');
    expect(rateLimit.headers.get('retry-after')).toBe('0');
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.message).toMatch(/rate limit/i);
  });

  test('with retries on, the SDK waits retry-after and succeeds on the second call, as against the real API', async () => {
    const retrying = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test', maxRetries: 2 });
    server.mock.failNext(1, 429);
    const completion = await retrying.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toBe(GPT4_DEFAULT);
    expect(server.mock.calls.map((c) => c.outcome)).toEqual(['error', 'ok']);
    const log = (await server.calls()).slice(-2);
    expect(log.map((c) => [c.clientFormat, c.status])).toEqual([['openai-chat', 429], ['openai-chat', 200]]);
  });

  test('an injected 500 is an InternalServerError after the SDK exhausts its retries', async () => {
    const retrying = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test', maxRetries: 1 });
    server.mock.failNext(2, 500);
    const error = await retrying.responses.create({ model: 'gpt-4', input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(500);
    expect((error as { type?: string }).type).toBe('server_error');
    // One try and one retry: both reached the provider.
    expect(server.mock.calls).toHaveLength(2);
  });

  test('an unknown model is a NotFoundError naming the configured models', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as Error).message).toMatch(/gpt-4, claude-3-sonnet, gpt-4o-mini/);
    expect((error as { code?: string }).code).toBe('model_not_found');
  });

  test('a bad parameter is a BadRequestError naming the parameter', async () => {
    const error = await openai.chat.completions
      .create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], temperature: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as { param?: string }).param).toBe('temperature');
  });

  test('a stream cut by an injected disconnect fails in the client instead of ending cleanly', async () => {
    // A chunk delay lets the client read each chunk before the cut, as it would over a real network.
    server.mock.configure({ disconnect_after_chunks: 2, chunk_delay_ms: 20 });
    server.mock.failNext(1, 'disconnect');
    const stream = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(received.join('')).toBe('Mock GPT-4');
    const log = (await server.calls()).at(-1)!;
    expect([log.outcome, log.errorCode]).toEqual(['error', 'provider_connection_error']);
  });
});
