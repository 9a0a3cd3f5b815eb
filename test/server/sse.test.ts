/**
 * The one SSE writer and the one SSE parser, and the SSE stream that
 * POST /v1/messages with `stream: true` sends, over a real socket.
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ChatRequest, StreamEvent } from '../../src/canonical/types.ts';
import { ProviderError } from '../../src/errors.ts';
import { encodeSSE, parseSSE, SSE_HEADERS, type ParsedSSE } from '../../src/formats/sse.ts';
import type { Provider } from '../../src/providers/types.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { internalErrors, postMessages, proxyFor, RECIPE_REQUEST } from './helpers.ts';

async function parseAll(chunks: Array<string | Uint8Array>): Promise<ParsedSSE[]> {
  const out: ParsedSSE[] = [];
  for await (const event of parseSSE((async function* () {
    yield* chunks;
  })())) out.push(event);
  return out;
}

/**
 * POSTs a streaming request and collects the body until the connection closes, whether the
 * response ended properly (`complete`) or was cut.
 */
function streamUntilClosed(url: string, body: unknown): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const json = JSON.stringify(body);
    const req = httpRequest(`${url}/v1/messages`, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(json)) }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      // A cut response emits 'error' (aborted) before 'close'; both end the wait.
      res.on('error', () => {});
      res.on('close', () => resolve({ text, complete: res.complete }));
    });
    req.on('error', reject);
    req.end(json);
  });
}

describe('encodeSSE', () => {
  it('writes event, id and JSON data, ending with a blank line', () => {
    expect(encodeSSE({ event: 'delta', id: '7', data: { text: 'hi' } })).toBe('event: delta\nid: 7\ndata: {"text":"hi"}\n\n');
    expect(encodeSSE({ data: 'plain' })).toBe('data: plain\n\n');
  });

  it('splits multi-line data into one data line per line (LF, CRLF and CR)', () => {
    expect(encodeSSE({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('rejects line breaks in event names and ids, which would forge fields', () => {
    expect(() => encodeSSE({ event: 'delta\ndata: forged', data: 'x' })).toThrow(/event names cannot contain line breaks/);
    expect(() => encodeSSE({ event: 'a\rb', data: 'x' })).toThrow(TypeError);
    expect(() => encodeSSE({ id: '1\n2', data: 'x' })).toThrow(/ids cannot contain line breaks/);
  });

  it('sets the event-stream headers, with buffering off for reverse proxies', () => {
    expect(SSE_HEADERS).toMatchObject({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  });
});

describe('parseSSE', () => {
  it('round-trips what encodeSSE writes', async () => {
    const text = encodeSSE({ event: 'a', id: '1', data: 'line 1\nline 2' }) + encodeSSE({ data: { n: 1 } });
    expect(await parseAll([text])).toEqual([
      { event: 'a', id: '1', data: 'line 1\nline 2' },
      { event: 'message', id: '1', data: '{"n":1}' },
    ]);
  });

  it('handles CRLF and lone CR line endings', async () => {
    expect(await parseAll(['event: x\r\ndata: 1\r\n\r\nevent: y\rdata: 2\r\r'])).toEqual([
      { event: 'x', data: '1' },
      { event: 'y', data: '2' },
    ]);
  });

  it('handles events split anywhere across chunks, a CRLF split in two and a split UTF-8 character included', async () => {
    const text = 'event: delta\r\ndata: {"text":"h\u00e9llo \u2603"}\r\n\r\nevent: done\r\ndata: {}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    const whole = await parseAll([bytes]);
    expect(whole).toEqual([
      { event: 'delta', data: '{"text":"h\u00e9llo \u2603"}' },
      { event: 'done', data: '{}' },
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await parseAll([bytes.slice(0, cut), bytes.slice(cut)]), `cut at byte ${cut}`).toEqual(whole);
    }
    expect(await parseAll(Array.from(bytes, (b) => new Uint8Array([b])))).toEqual(whole);
  });

  it('joins multi-line data with newlines and strips one leading space only', async () => {
    expect(await parseAll(['data: first\ndata:  second\ndata:third\n\n'])).toEqual([{ event: 'message', data: 'first\n second\nthird' }]);
  });

  it('skips comments and events without data; keeps retry', async () => {
    expect(await parseAll([': keep-alive\n\nevent: ping\n\nretry: 3000\ndata: x\n\n'])).toEqual([{ event: 'message', data: 'x', retry: 3000 }]);
  });

  it('does not dispatch an event cut off before its blank line (the connection dropped)', async () => {
    expect(await parseAll(['data: complete\n\ndata: {"partial":'])).toEqual([{ event: 'message', data: 'complete' }]);
    expect(await parseAll(['data: complete\n\ndata: whole line but no blank\n'])).toEqual([{ event: 'message', data: 'complete' }]);
  });
});

/** Parses an SSE response body text into [event, data] pairs. */
async function eventsOf(text: string) {
  return (await parseAll([text])).map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

describe('POST /v1/messages with stream: true', () => {
  it('streams start, deltas and done, whose text is the complete answer', async () => {
    const { proxy } = await proxyFor();
    const response = await postMessages(proxy.url, { ...RECIPE_REQUEST, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['x-tokenpak-provider']).toBe('mock');
    expect(response.headers['x-tokenpak-attempts']).toBe('1');
    const requestId = response.headers['x-request-id'];
    const events = await eventsOf(response.text);
    expect(events[0]).toEqual({
      event: 'start',
      data: { id: requestId, model: 'gpt-4', provider: 'mock', upstream_model: 'gpt-4', attempts: [] },
    });
    expect(events.slice(1, -1).every((e) => e.event === 'delta')).toBe(true);
    expect(events.slice(1, -1).map((e) => e.data.text).join('')).toBe('Mock response: Debugged your code successfully');
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toMatchObject({
      id: requestId,
      model: 'gpt-4',
      provider: 'mock',
      stop_reason: 'stop',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
      cost_cents: 0,
      attempts: [expect.objectContaining({ provider: 'mock', outcome: 'ok' })],
    });
    expect(done.data.usage.output_tokens).toBeGreaterThan(0);
  });

  it('a stream that fell back before its first event says so in start and done', async () => {
    const { proxy, mock } = await proxyFor();
    mock().failNext(1, 529);
    const response = await postMessages(proxy.url, { ...RECIPE_REQUEST, stream: true });
    expect(response.headers['x-tokenpak-attempts']).toBe('2');
    const events = await eventsOf(response.text);
    expect(events[0]!.data.attempts).toEqual([expect.objectContaining({ outcome: 'error', status: 529 })]);
    expect(events.at(-1)!.data.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['error', 'ok']);
  });

  it('a stream whose every attempt fails before the first event is a JSON error, not an event stream', async () => {
    const { proxy, mock } = await proxyFor();
    mock().failNext(2, 503);
    const response = await postMessages(proxy.url, { ...RECIPE_REQUEST, stream: true });
    expect(response.status).toBe(503);
    expect(response.json().error.type).toBe('provider_error');
  });

  it('sends tool calls as tool_call events', async () => {
    const yaml = 'providers:\n  mock:\n    type: mock\n    responses:\n      gpt-4:\n        default: {tool_call: {name: get_weather, arguments: {city: Paris}}}\nmodels:\n  gpt-4: {provider: mock}\n';
    const { proxy } = await proxyFor(yaml);
    const events = await eventsOf((await postMessages(proxy.url, { ...RECIPE_REQUEST, stream: true })).text);
    const call = events.find((e) => e.event === 'tool_call')!;
    expect(call.data).toMatchObject({ index: 0, name: 'get_weather' });
    expect(JSON.parse(call.data.arguments)).toEqual({ city: 'Paris' });
    expect(events.at(-1)!.data.stop_reason).toBe('tool_calls');
  });

  it('a provider failure after the first event ends the stream with an error event', async () => {
    // A provider that fails with a 500 mid-stream (the mock only drops connections mid-stream).
    const failing = (name: string): Provider => ({
      name,
      type: 'mock',
      complete: () => Promise.reject(new Error('unused')),
      async *stream(request: ChatRequest): AsyncIterable<StreamEvent> {
        yield { type: 'start', id: 'r1', model: request.model };
        yield { type: 'text-delta', text: 'partial ' };
        throw new ProviderError('provider_error', `Provider "${name}" failed mid-stream (HTTP 500).`, { provider: name, status: 500, retryable: true });
      },
    });
    const { proxy } = await proxyFor(undefined, { providerFactory: (name, settings) => (name === 'mock' ? failing(name) : createProvider(name, settings)) });
    const response = await postMessages(proxy.url, { ...RECIPE_REQUEST, stream: true });
    expect(response.status).toBe(200);
    const events = await eventsOf(response.text);
    expect(events.map((e) => e.event)).toEqual(['start', 'delta', 'error']);
    expect(events[2]!.data.error).toMatchObject({ type: 'provider_error', message: 'Provider "mock" failed mid-stream (HTTP 500).', provider: 'mock' });
    await proxy.log.flush();
    const [record] = await proxy.log.query();
    expect(record).toMatchObject({ outcome: 'error', status: 500, stream: true });
    expect(internalErrors).toEqual([]);
  });

  it('a dropped upstream connection mid-stream drops the client connection (no done event)', async () => {
    const { proxy, mock } = await proxyFor();
    mock().configure({ disconnect_after_chunks: 2 });
    mock().failNext(1, 'disconnect');
    const { text, complete } = await streamUntilClosed(proxy.url, { ...RECIPE_REQUEST, stream: true });
    // The response never completes (no final chunk): the connection is cut, as the real API's would
    // be. What arrived before the cut (socket buffers may drop its tail) has no error or done event.
    expect(complete).toBe(false);
    const events = (await parseAll([text])).map((e) => e.event);
    expect(events.filter((e) => e === 'error' || e === 'done')).toEqual([]);
    expect(['start', 'delta', 'delta'].slice(0, events.length)).toEqual(events);
    await proxy.log.flush();
    expect((await proxy.log.query())[0]).toMatchObject({ outcome: 'error', errorCode: 'provider_connection_error' });
    expect((await postMessages(proxy.url, RECIPE_REQUEST)).status).toBe(200);
  });
});
