/**
 * Fake OpenAI and Anthropic APIs on 127.0.0.1 (port 0), for tests of the real
 * providers. They answer with the recorded bodies in test/fixtures/upstream/
 * (JSON, or SSE when the request asks for a stream), check the API key the way
 * the real APIs do, record every request, and inject the faults a real API
 * shows: error statuses with their bodies and `retry-after`, slow first bytes,
 * reset connections, malformed bodies and streams cut in the middle.
 *
 * Answers name the model the request asked for, as the real APIs do.
 *
 * A test queues replies (`fake.reply(...)`), one per incoming request, in
 * order; when the queue is empty the fake gives its `fallback` reply.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '../fixtures/upstream');

/** The text of a recorded upstream fixture (`openai-chat-text.json`, …). */
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** A recorded JSON fixture, parsed. */
export function fixtureJson<T = any>(name: string): T {
  return JSON.parse(fixture(name)) as T;
}

/** What the fake does with one request. */
export type FakeReply =
  /** `<name>.json`, or `<name>.sse.txt` when the request has `stream: true`. */
  | { kind: 'answer'; fixture: string; delayMs?: number; chunkDelayMs?: number }
  /** A status with a body (an object is sent as JSON, a string as it is). */
  | { kind: 'status'; status: number; body: unknown; headers?: Record<string, string>; delayMs?: number }
  /** An SSE body (the text of a `.sse.txt` fixture), sent event by event. */
  | { kind: 'sse'; text: string; chunkDelayMs?: number; delayMs?: number; cutAfterEvents?: number }
  /** The connection is reset without an answer. */
  | { kind: 'reset' }
  /** No answer at all, until the client gives up. */
  | { kind: 'hang' };

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: any;
  /** When it arrived (performance.now()). */
  at: number;
}

export interface FakeUpstream {
  /** `http://127.0.0.1:port`. */
  readonly url: string;
  /** The `base_url` to configure a provider with. */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Queues replies for the next requests, one each, in order. */
  reply(...replies: FakeReply[]): void;
  /** The reply when nothing is queued. */
  fallback: FakeReply | ((request: RecordedRequest) => FakeReply);
  close(): Promise<void>;
}

interface FakeOptions {
  /** The chat path (others get 404, except those in `answers`). */
  path: string;
  /**
   * Further paths answered, each with the fixture its `answer` replies use
   * instead of the reply's own (an embeddings request gets an embeddings
   * body whatever the queue's `answer` names; statuses and faults apply as given).
   */
  answers?: Record<string, string>;
  /** `base_url` as a provider of this kind takes it. */
  basePath: string;
  /** A reply for a request that fails authentication, else undefined. */
  authenticate(request: RecordedRequest): FakeReply | undefined;
  fallback: FakeReply;
  notFound: (path: string) => unknown;
}

async function createFake(options: FakeOptions): Promise<FakeUpstream> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const send = async (reply: FakeReply, request: RecordedRequest, req: IncomingMessage, res: ServerResponse) => {
    switch (reply.kind) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case 'status': {
        await wait(reply.delayMs ?? 0);
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json', ...reply.headers });
        res.end(body);
        return;
      }
      case 'answer': {
        const own = options.answers?.[request.path.split('?')[0]!];
        if (own !== undefined && own !== reply.fixture) return send({ ...reply, fixture: own }, request, req, res);
        // Like the real APIs, the answer names the model that was asked for.
        const model = typeof request.body?.model === 'string' ? request.body.model : undefined;
        if (request.body?.stream === true) {
          let text = fixture(`${reply.fixture}.sse.txt`);
          if (model) text = text.replace(/"model":"[^"]*"/g, `"model":${JSON.stringify(model)}`);
          return send({ kind: 'sse', text, ...pick(reply, 'delayMs', 'chunkDelayMs') }, request, req, res);
        }
        const body = fixtureJson(`${reply.fixture}.json`);
        if (model) body.model = model;
        return send({ kind: 'status', status: 200, body, ...pick(reply, 'delayMs') }, request, req, res);
      }
      case 'sse': {
        await wait(reply.delayMs ?? 0);
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        const events = reply.text.split(/\n\n/).filter((e) => e.trim() !== '');
        for (let i = 0; i < events.length; i++) {
          if (reply.cutAfterEvents !== undefined && i === reply.cutAfterEvents) {
            // Let what was written reach the client, then cut the connection mid-body.
            await wait(20);
            req.socket.destroy();
            return;
          }
          if (i > 0) await wait(reply.chunkDelayMs ?? 0);
          if (res.destroyed) return;
          res.write(`${events[i]}\n\n`);
        }
        res.end();
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const path = req.url ?? '/';
      const request: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, at: performance.now() };
      requests.push(request);
      let reply: FakeReply;
      const bare = path.split('?')[0]!;
      if (req.method !== 'POST' || (bare !== options.path && !(options.answers && bare in options.answers))) {
        reply = { kind: 'status', status: 404, body: options.notFound(path) };
      } else {
        reply =
          options.authenticate(request) ??
          queue.shift() ??
          (typeof fake.fallback === 'function' ? fake.fallback(request) : fake.fallback);
      }
      send(reply, request, req, res).catch(() => req.socket.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeUpstream = {
    url,
    baseUrl: url + options.basePath,
    requests,
    reply: (...replies) => queue.push(...replies),
    fallback: options.fallback,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

function pick<T extends object, K extends keyof T>(value: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/** The API key the fakes accept unless told otherwise. */
export const FAKE_OPENAI_KEY = 'sk-proj-fakeOpenAIkey0123456789abcdefXq9Z';
export const FAKE_ANTHROPIC_KEY = 'sk-ant-api03-fakeAnthropicKey0123456789-abcdefAA';

/** A fake OpenAI API: Chat Completions at `/v1/chat/completions`, embeddings at `/v1/embeddings`, and `/v1/responses/input_tokens`. */
export function createFakeOpenAI(options: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const apiKey = options.apiKey ?? FAKE_OPENAI_KEY;
  return createFake({
    path: '/v1/chat/completions',
    answers: { '/v1/embeddings': 'openai-embeddings', '/v1/responses/input_tokens': 'openai-input-tokens' },
    basePath: '/v1',
    authenticate: (request) =>
      request.headers.authorization === `Bearer ${apiKey}` ? undefined : { kind: 'status', status: 401, body: fixtureJson('openai-error-auth.json') },
    fallback: { kind: 'answer', fixture: 'openai-chat-text' },
    notFound: (path) => ({ error: { message: `Invalid URL (POST ${path})`, type: 'invalid_request_error', param: null, code: null } }),
  });
}

/** A fake Anthropic Messages API at `/v1/messages`, and `/v1/messages/count_tokens`. */
export function createFakeAnthropic(options: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const apiKey = options.apiKey ?? FAKE_ANTHROPIC_KEY;
  return createFake({
    path: '/v1/messages',
    answers: { '/v1/messages/count_tokens': 'anthropic-count-tokens' },
    basePath: '',
    authenticate: (request) => {
      if (request.headers['x-api-key'] !== apiKey) return { kind: 'status', status: 401, body: fixtureJson('anthropic-error-auth.json') };
      if (!request.headers['anthropic-version']) {
        return { kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
      }
      return undefined;
    },
    fallback: { kind: 'answer', fixture: 'anthropic-messages-text' },
    notFound: () => ({ type: 'error', error: { type: 'not_found_error', message: 'Not Found' } }),
  });
}

/** Shorthands for replies. */
export const replies = {
  answer: (fixtureName: string, extra: { delayMs?: number; chunkDelayMs?: number } = {}): FakeReply => ({ kind: 'answer', fixture: fixtureName, ...extra }),
  status: (status: number, bodyFixture: string | object, headers?: Record<string, string>): FakeReply => ({
    kind: 'status',
    status,
    body: typeof bodyFixture === 'string' ? fixtureJson(bodyFixture) : bodyFixture,
    ...(headers ? { headers } : {}),
  }),
  /** A 200 whose body is not JSON. */
  malformed: (): FakeReply => ({ kind: 'status', status: 200, body: '{"id": "chatcmpl-broken", "choices": [', headers: { 'content-type': 'application/json' } }),
  /** A stream of a fixture cut after `events` events. */
  cut: (sseFixture: string, events: number): FakeReply => ({ kind: 'sse', text: fixture(sseFixture), cutAfterEvents: events }),
  reset: (): FakeReply => ({ kind: 'reset' }),
  hang: (): FakeReply => ({ kind: 'hang' }),
};
