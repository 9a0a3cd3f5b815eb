/**
 * The thin node:http adapter around the app. An app with `handle` (the one
 * `createApp` builds) is served natively: the request is read from the
 * IncomingMessage as it is (headers from `rawHeaders`, the body with
 * `data`/`end`, the path without a URL object) and the answer written as it
 * comes, so that a JSON call builds no web `Request`, `Headers`, `URL` or
 * stream. A fetch-only app (the Vitest plugin's routing in front of per-test
 * apps) gets a `Request` and its `Response` is written the same way. Client
 * disconnects abort the request's signal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestError } from '../errors.ts';
import type { App } from './app.ts';
import { clientLeftMidBody, noBody, pathFromUrl, tooLarge, type ServerAnswer, type ServerHeaders, type ServerRequest } from './exchange.ts';
import { lightweightRequest, plainResponse } from './lightweight.ts';

/** An answer on its way to the socket: a fetch Response's headers may repeat `set-cookie`. */
interface WritableAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: ServerAnswer['body'];
}

/** A `(req, res)` listener for `http.createServer()`. */
export function toNodeListener(app: App, onError: (error: unknown) => void = () => {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const controller = new AbortController();
    // 'close' on the response fires after a normal finish too; only an early close means the client left.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const answer = app.handle ? app.handle(new NodeRequest(req, controller.signal)) : fetchAnswer(app, req, controller.signal);
    void answer
      .then((ready) => writeAnswer(res, ready, controller.signal))
      .catch((error: unknown) => {
        onError(error);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { type: 'internal_error', message: 'Internal error in TokenPak.' } }));
        } else {
          res.destroy();
        }
      });
  };
}

/** A request target whose path the URL parser would return unchanged: no dot segments, escapes of dots, or characters it re-encodes. */
const PLAIN_PATH = /^\/[\w\-.~!$&'()*+,;=:@%/]*$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** Host headers already seen to make a valid URL (a client sends the same one on every request). */
const validHosts = new Set<string>();
const MAX_VALID_HOSTS = 64;

/** Headers read straight from `rawHeaders` (every field of a name, as `Headers` would join them). */
class RawHeaders implements ServerHeaders {
  readonly #raw: string[];
  constructor(raw: string[]) {
    this.#raw = raw;
  }
  get(name: string): string | null {
    const key = name.toLowerCase();
    const raw = this.#raw;
    let value: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      const field = raw[i]!;
      if (field.length === key.length && (field === key || field.toLowerCase() === key)) value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
    return value;
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
}

/** An IncomingMessage as the routes see it. */
class NodeRequest implements ServerRequest {
  readonly method: string;
  readonly headers: RawHeaders;
  readonly signal: AbortSignal;
  readonly #req: IncomingMessage;
  #path: string | RequestError | undefined;

  constructor(req: IncomingMessage, signal: AbortSignal) {
    this.#req = req;
    this.method = req.method ?? 'GET';
    this.headers = new RawHeaders(req.rawHeaders);
    this.signal = signal;
  }

  get path(): string | RequestError {
    if (this.#path === undefined) {
      const target = this.#req.url ?? '/';
      const host = this.#req.headers.host ?? 'localhost';
      const query = target.indexOf('?');
      const path = query < 0 ? target : target.slice(0, query);
      if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path) && validHosts.has(host)) this.#path = path;
      else {
        // What the fetch-style adapter would read from the URL `http://<Host><target>` (an invalid Host is the client's error).
        this.#path = pathFromUrl(host, target);
        if (typeof this.#path === 'string' && validHosts.size < MAX_VALID_HOSTS) validHosts.add(host);
      }
    }
    return this.#path;
  }

  text(limit: number): Promise<string> {
    const req = this.#req;
    if (Number(req.headers['content-length'] ?? NaN) > limit) return Promise.reject(tooLarge(limit));
    if (this.method === 'GET' || this.method === 'HEAD') return Promise.reject(noBody());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size <= limit) return void chunks.push(chunk);
        // An over-limit body: discard the rest so the 413 reply can still be sent.
        stop();
        req.resume();
        reject(tooLarge(limit));
      };
      const onEnd = () => {
        stop();
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
      };
      const onError = (error: unknown) => {
        stop();
        reject(clientLeftMidBody(error));
      };
      const onClose = () => req.complete || onError(new Error('The connection closed.'));
      const stop = () => req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    });
  }
}

/** A fetch-only app's answer: a `Request` in, its `Response` as an answer (a JSON one not read back). */
async function fetchAnswer(app: App, req: IncomingMessage, signal: AbortSignal): Promise<WritableAnswer> {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const response = await app.fetch(
    lightweightRequest({
      url: `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
      method,
      headers,
      signal,
      body: hasBody ? bodyStream(req) : null,
    }),
  );
  const plain = plainResponse(response);
  if (plain) return { status: plain.status, headers: { ...plain.headers }, body: plain.body };
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') out[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return { status: response.status, headers: out, body: response.body };
}

async function writeAnswer(res: ServerResponse, answer: WritableAnswer, signal: AbortSignal): Promise<void> {
  const { status, headers } = answer;
  let { body } = answer;
  if (typeof body === 'string') {
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  // The connection is node:http's to manage: an app's own `Connection:
  // keep-alive` (SSE responses carry one) would stop Node from adding
  // `Keep-Alive: timeout=…`, which tells clients when idle sockets close.
  delete headers.connection;
  delete headers['keep-alive'];
  if (!body) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const contentType = headers['content-type'];
  if (!(typeof contentType === 'string' && contentType.startsWith('text/event-stream'))) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    headers['content-length'] = String(whole.byteLength);
    res.writeHead(status, headers);
    res.end(whole);
    return;
  }
  res.writeHead(status, headers);
  res.flushHeaders();
  // A web stream is read through its reader, whose cancel() also ends a read already waiting.
  const iterator = body instanceof ReadableStream ? readerIterator(body.getReader() as ReadableStreamDefaultReader<Uint8Array>) : body[Symbol.asyncIterator]();
  body = null;
  const cancel = () => void iterator.return?.()?.catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  let cut = false;
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch {
        // The app throws from a stream's body to cut the connection mid-stream
        // (and reports its own failures). Ending the socket sends what was written,
        // then closes without the final chunk: the client sees a dropped connection.
        cut = true;
        if (res.socket) res.socket.end();
        else res.destroy();
        return;
      }
      if (step.done) break;
      if (!res.write(step.value)) await drainedOrClosed(res);
      if (signal.aborted) break;
    }
  } finally {
    signal.removeEventListener('abort', cancel);
    if (!cut && !res.destroyed) res.end();
  }
}

function readerIterator(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncIterator<Uint8Array> {
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/** The request body as a web stream (for fetch-only apps), pulled only when the app reads it. */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (cancelled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) req.pause();
      });
      // After a cancel the stream is closed: closing or erroring it again would throw (and crash the process).
      req.once('end', () => cancelled || controller.close());
      req.once('error', (error) => cancelled || controller.error(error));
    },
    pull() {
      req.resume();
    },
    cancel() {
      // An over-limit body: discard the rest so the 413 reply can still be sent.
      cancelled = true;
      req.resume();
    },
  });
}

/**
 * Waits until a full response buffer drains or the connection closes. Both
 * listeners are removed either way: `once` would leave the other behind at
 * every wait, and a long stream to a slow client waits thousands of times.
 */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const go = () => {
      res.off('drain', go).off('close', go);
      resolve();
    };
    res.on('drain', go).on('close', go);
  });
}
