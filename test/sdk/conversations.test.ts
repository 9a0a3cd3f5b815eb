/**
 * Server-held conversations with the official SDKs over a real socket:
 * OpenAI Responses `previous_response_id` (and `store`), and Anthropic message
 * threads as `client.beta.messages.toolRunner()` and `.thread()` send them
 * with their default settings (`thread: {type: "create"}`, then `continue`
 * with the beta header), including the SDK's own recoveries: a thread TokenPak
 * no longer holds (`thread_not_found` → the SDK replays the whole history) and
 * a TokenPak that keeps none (`thread_unsupported_request` → the tool runner
 * goes on unthreaded).
 */
import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import OpenAI from 'openai';
import { startProxy, type MockProvider, type TokenPakProxy } from 'tokenpak';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startGateway, type Gateway } from '../fallback/helpers.ts';
import { fixtureJson, replies } from '../support/fake-upstream.ts';
import { cannedConfig, CLAUDE_DEFAULT, GPT4_DEFAULT, WEATHER_ANSWER } from './helpers.ts';

const THREADS_BETA = 'message-threads-2026-08-12';

/** A proxy whose mock calls get_weather on a first "weather" prompt and answers in text on the next call. */
function startConversationProxy(conversations?: { max_count: number }): Promise<TokenPakProxy> {
  const config = cannedConfig({ weather: 'tool-call-then-answer', ...(conversations ? { server: { conversations } } : {}) });
  return startProxy({ config, port: 0, host: '127.0.0.1' });
}

interface Sent {
  url: string;
  headers: Headers;
  body: any;
  status: number;
}

/** A fetch that records what the SDK sent and the status it got. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    sent.push({ url: String(input), headers: new Headers(init?.headers), body: init?.body ? JSON.parse(String(init.body)) : undefined, status: response.status });
    return response;
  };
}

const weatherTool = betaTool({
  name: 'get_weather',
  description: 'Current weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
  run: async ({ city }) => `18 degrees and sunny in ${city}`,
});

/** The texts of a canonical message list, one line per part, for comparing histories. */
function transcript(messages: ReadonlyArray<{ role: string; content: ReadonlyArray<{ type: string; text?: string; name?: string; content?: string }> }>): string[] {
  return messages.flatMap((m) => m.content.map((p) => `${m.role}:${p.type}:${p.text ?? p.name ?? p.content ?? ''}`));
}

let proxy: TokenPakProxy;
let mock: MockProvider;
beforeAll(async () => {
  proxy = await startConversationProxy();
  mock = proxy.providers.get('mock') as MockProvider;
});
afterAll(() => proxy.close({ graceMs: 0 }));
beforeEach(() => mock.reset());

describe('OpenAI Responses previous_response_id', () => {
  let openai: OpenAI;
  const sent: Sent[] = [];
  beforeAll(() => {
    openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0, fetch: recordingFetch(sent) });
  });

  test('continues a stored response: the provider sees the whole conversation, the response names its predecessor', async () => {
    const first = await openai.responses.create({ model: 'gpt-4', instructions: 'Be brief.', input: 'My name is Ada.' });
    expect((first as unknown as { store: boolean }).store).toBe(true);
    const second = await openai.responses.create({ model: 'gpt-4', previous_response_id: first.id, input: 'What is my name?' });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(GPT4_DEFAULT);
    // Only the new input went over the wire; TokenPak put the stored history in front of it.
    expect(sent.at(-1)!.body.input).toBe('What is my name?');
    const request = mock.calls.at(-1)!.request;
    expect(transcript(request.messages)).toEqual(['user:text:My name is Ada.', `assistant:text:${GPT4_DEFAULT}`, 'user:text:What is my name?']);
    // As on OpenAI, instructions are not carried over from the previous response.
    expect(request.system).toBeUndefined();
  });

  test('a function-call loop over previous_response_id: the output answers the stored call', async () => {
    const tools = [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
    const first = await openai.responses.create({ model: 'gpt-4', input: 'What is the weather in Paris?', tools });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ name: 'get_weather' });
    const second = await openai.responses.create({
      model: 'gpt-4',
      previous_response_id: first.id,
      tools,
      input: [{ type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: '18 degrees' }],
    });
    expect(second.output_text).toBe(WEATHER_ANSWER);
    expect(transcript(mock.calls.at(-1)!.request.messages)).toEqual([
      'user:text:What is the weather in Paris?',
      'assistant:tool-call:get_weather',
      'tool:tool-result:18 degrees',
    ]);
  });

  test('a streamed response can be continued as soon as the stream has completed', async () => {
    const stream = await openai.responses.create({ model: 'gpt-4', input: 'Streamed first turn.', stream: true });
    let id = '';
    for await (const event of stream) if (event.type === 'response.completed') id = event.response.id;
    expect(id).toMatch(/^resp_/);
    await openai.responses.create({ model: 'gpt-4', previous_response_id: id, input: 'Second turn.' });
    expect(transcript(mock.calls.at(-1)!.request.messages)).toEqual(['user:text:Streamed first turn.', `assistant:text:${GPT4_DEFAULT}`, 'user:text:Second turn.']);
  });

  test('an unknown id, or one created with store: false, is the 400 previous_response_not_found', async () => {
    const unknown = await openai.responses.create({ model: 'gpt-4', previous_response_id: 'resp_nope', input: 'Hi' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unknown).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
    expect(String((unknown as Error).message)).toMatch(/Previous response with id 'resp_nope' not found/);

    const unstored = await openai.responses.create({ model: 'gpt-4', input: 'Forget this.', store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    const later = await openai.responses.create({ model: 'gpt-4', previous_response_id: unstored.id, input: 'Hi' }).catch((e: unknown) => e);
    expect(later).toMatchObject({ status: 400, code: 'previous_response_not_found' });
  });
});

describe('Anthropic message threads', () => {
  test('toolRunner() with default settings threads its turns and finishes the loop', async () => {
    const sent: Sent[] = [];
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0, fetch: recordingFetch(sent) });
    const runner = client.beta.messages.toolRunner({
      model: 'claude-3-sonnet',
      max_tokens: 1024,
      system: 'You answer weather questions.',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
    });
    const final = await runner;
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: WEATHER_ANSWER })]);

    // On the wire: the first turn creates the thread with the full request and the beta header...
    expect(sent).toHaveLength(2);
    expect(sent.every((s) => s.status === 200)).toBe(true);
    expect(sent[0]!.headers.get('anthropic-beta')).toContain(THREADS_BETA);
    expect(sent[0]!.body.thread).toEqual({ type: 'create' });
    expect(sent[0]!.body.tools).toHaveLength(1);
    // ...the second continues it, with only the tool result and without system and tools.
    const firstReplyId = mock.calls[0] && (sent[1]!.body.thread?.previous_message_id as string);
    expect(sent[1]!.body.thread).toEqual({ type: 'continue', previous_message_id: firstReplyId });
    expect(firstReplyId).toMatch(/^msg_/);
    expect(sent[1]!.body.messages).toHaveLength(1);
    expect(sent[1]!.body.messages[0].content[0].type).toBe('tool_result');
    expect(sent[1]!.body.system).toBeUndefined();
    expect(sent[1]!.body.tools).toBeUndefined();

    // The mock answered the second turn from the whole conversation, system and tools included.
    const request = mock.calls[1]!.request;
    expect(request.system).toBe('You answer weather questions.');
    expect(request.tools?.map((t) => t.name)).toEqual(['get_weather']);
    expect(transcript(request.messages)).toEqual(['user:text:What is the weather in Paris?', 'assistant:tool-call:get_weather', 'tool:tool-result:18 degrees and sunny in Paris']);
  });

  test('thread(): send() twice, the second turn sends only its message; a streamed turn continues too', async () => {
    const sent: Sent[] = [];
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0, fetch: recordingFetch(sent) });
    const thread = client.beta.messages.thread({ model: 'claude-3-sonnet', max_tokens: 256 });
    const one = await thread.send({ role: 'user', content: 'Hello there.' });
    const two = await thread.send({ role: 'user', content: 'And again.' });
    expect(two.content[0]).toMatchObject({ type: 'text', text: CLAUDE_DEFAULT });
    expect(sent[1]!.body).toMatchObject({ thread: { type: 'continue', previous_message_id: one.id }, messages: [{ role: 'user', content: 'And again.' }] });
    const streamed = await thread.stream({ role: 'user', content: 'Third, streamed.' }).finalMessage();
    expect(sent[2]!.body.thread).toEqual({ type: 'continue', previous_message_id: two.id });
    expect(thread.previousMessageId).toBe(streamed.id);
    expect(transcript(mock.calls.at(-1)!.request.messages)).toEqual([
      'user:text:Hello there.',
      `assistant:text:${CLAUDE_DEFAULT}`,
      'user:text:And again.',
      `assistant:text:${CLAUDE_DEFAULT}`,
      'user:text:Third, streamed.',
    ]);
  });

  test('errors carry the codes the SDK acts on: unknown thread 404, a turn continued twice 400', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const headers = { 'anthropic-beta': THREADS_BETA };
    const missing = await client.messages
      .create({ model: 'claude-3-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }], thread: { type: 'continue', previous_message_id: 'msg_gone' } } as never, { headers })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing).toMatchObject({ status: 404, errorCode: 'thread_not_found' });

    const first = await client.messages.create({ model: 'claude-3-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }], thread: { type: 'create' } } as never, { headers });
    const next = { model: 'claude-3-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Next' }], thread: { type: 'continue', previous_message_id: (first as { id: string }).id } };
    await client.messages.create(next as never, { headers });
    const again = await client.messages.create(next as never, { headers }).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 400, errorCode: 'thread_already_continued' });

    const noBeta = await client.messages.create({ model: 'claude-3-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }], thread: { type: 'create' } } as never).catch((e: unknown) => e);
    expect(noBeta).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((noBeta as Error).message)).toContain(THREADS_BETA);
  });
});

describe('Anthropic thread refusals the SDK recovers from', () => {
  const headers = { 'anthropic-beta': THREADS_BETA };
  const create = (client: Anthropic, extra: Record<string, unknown> = {}) =>
    client.messages.create({ model: 'claude-3-sonnet', max_tokens: 64, system: 'Be kind.', messages: [{ role: 'user', content: 'Hi' }], thread: { type: 'create' }, ...extra } as never, { headers }) as Promise<{ id: string }>;
  const next = (id: string, extra: Record<string, unknown> = {}) =>
    ({ model: 'claude-3-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Next' }], thread: { type: 'continue', previous_message_id: id }, ...extra }) as never;

  test('two requests continuing one reply at once: one is answered, the other gets thread_continue_in_flight', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const first = await create(client);
    // The first continue to arrive is answered only after a second, which both requests arrive well within.
    mock.configure({ latency_ms: 1_000 });
    try {
      const results = await Promise.allSettled([client.messages.create(next(first.id), { headers }), client.messages.create(next(first.id), { headers })]);
      const answered = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(answered).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.reason).toMatchObject({ status: 400, errorCode: 'thread_continue_in_flight' });
    } finally {
      mock.configure({ latency_ms: 0 });
    }
  });

  test('a continue that changes system or tools: thread_fingerprint_mismatch; repeating them unchanged is fine', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const first = await create(client);
    const changed = await client.messages.create(next(first.id, { system: 'Be rude.' }), { headers }).catch((e: unknown) => e);
    expect(changed).toMatchObject({ status: 400, errorCode: 'thread_fingerprint_mismatch' });
    expect(String((changed as Error).message)).toMatch(/^400 .*system differ/);
    // The refusal did not use up the reply: a valid continue still works.
    await expect(client.messages.create(next(first.id, { system: 'Be kind.' }), { headers })).resolves.toMatchObject({ type: 'message' });
    expect(mock.calls.at(-1)!.request.system).toBe('Be kind.');
  });
});

describe('bounded conversation memory', () => {
  test('a thread evicted by the count limit: the SDK gets thread_not_found and replays the whole history', async () => {
    const small = await startConversationProxy({ max_count: 1 });
    try {
      const sent: Sent[] = [];
      const client = new Anthropic({ baseURL: small.url, apiKey: 'unused', maxRetries: 0, fetch: recordingFetch(sent) });
      const a = client.beta.messages.thread({ model: 'claude-3-sonnet', max_tokens: 64 });
      const b = client.beta.messages.thread({ model: 'claude-3-sonnet', max_tokens: 64 });
      await a.send({ role: 'user', content: 'A one.' });
      await b.send({ role: 'user', content: 'B one.' }); // the only slot now holds B
      const reply = await a.send({ role: 'user', content: 'A two.' });
      expect(reply.content[0]).toMatchObject({ type: 'text' });
      expect(sent.map((s) => [s.body.thread.type, s.status])).toEqual([
        ['create', 200],
        ['create', 200],
        ['continue', 404],
        ['create', 200],
      ]);
      expect(sent[3]!.body.messages.map((m: { content: unknown }) => (typeof m.content === 'string' ? m.content : 'reply'))).toEqual(['A one.', 'reply', 'A two.']);
    } finally {
      await small.close({ graceMs: 0 });
    }
  });

  test('conversations turned off (max_count: 0): toolRunner falls back to unthreaded requests on thread_unsupported_request', async () => {
    const off = await startConversationProxy({ max_count: 0 });
    try {
      const sent: Sent[] = [];
      const client = new Anthropic({ baseURL: off.url, apiKey: 'unused', maxRetries: 0, fetch: recordingFetch(sent) });
      const final = await client.beta.messages.toolRunner({
        model: 'claude-3-sonnet',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
        tools: [weatherTool],
      });
      expect(final.content[0]).toMatchObject({ type: 'text', text: WEATHER_ANSWER });
      expect(sent.map((s) => [s.body.thread?.type ?? 'none', s.status])).toEqual([
        ['create', 400],
        ['none', 200],
        ['none', 200],
      ]);
    } finally {
      await off.close({ graceMs: 0 });
    }
  });
});

describe('fallback of a continued conversation to another provider (fake upstreams)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(() => gateway.close());

  const OPENAI_TEXT: string = fixtureJson('openai-chat-text.json').choices[0].message.content;
  const ANTHROPIC_TEXT: string = fixtureJson('anthropic-messages-text.json').content[0].text;

  test('previous_response_id: OpenAI answers turn 1, fails turn 2, and Anthropic gets the whole history', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const first = await openai.responses.create({ model: 'gpt-4', input: 'Remember the number 7.' });
    expect(first.output_text).toBe(OPENAI_TEXT);
    gateway.openai.reply(replies.status(503, 'openai-error-unavailable.json'));
    const anthropicBefore = gateway.anthropic.requests.length;
    const { data: second, response } = await openai.responses.create({ model: 'gpt-4', previous_response_id: first.id, input: 'Which number?' }).withResponse();
    expect(response.headers.get('x-tokenpak-provider')).toBe('anthropic');
    expect(second.output_text).toBe(ANTHROPIC_TEXT);
    const upstream = gateway.anthropic.requests.slice(anthropicBefore);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Remember the number 7.' }] },
      { role: 'assistant', content: [{ type: 'text', text: OPENAI_TEXT }] },
      { role: 'user', content: [{ type: 'text', text: 'Which number?' }] },
    ]);
  });

  test('an Anthropic thread: turn 2 falls back to OpenAI, which gets the whole history; upstreams never see `thread`', async () => {
    const client = new Anthropic({ baseURL: gateway.proxy.url, apiKey: 'unused', maxRetries: 0 });
    const thread = client.beta.messages.thread({ model: 'claude-3-sonnet', max_tokens: 256, system: 'Be kind.' });
    const anthropicBefore = gateway.anthropic.requests.length;
    const one = await thread.send({ role: 'user', content: 'Remember the number 7.' });
    expect(one.content[0]).toMatchObject({ type: 'text', text: ANTHROPIC_TEXT });
    gateway.anthropic.reply(replies.status(529, 'anthropic-error-overloaded.json'));
    const openaiBefore = gateway.openai.requests.length;
    const two = await thread.send({ role: 'user', content: 'Which number?' });
    expect(two.content[0]).toMatchObject({ type: 'text', text: OPENAI_TEXT });
    // TokenPak rebuilt the conversation: the thread's system prompt and every turn went to OpenAI.
    expect(gateway.openai.requests.slice(openaiBefore)[0]!.body.messages).toEqual([
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Remember the number 7.' },
      { role: 'assistant', content: ANTHROPIC_TEXT },
      { role: 'user', content: 'Which number?' },
    ]);
    for (const request of gateway.anthropic.requests.slice(anthropicBefore)) expect(request.body.thread).toBeUndefined();
  });
});
