/**
 * The thin node:http adapter around the fetch-style app: IncomingMessage →
 * Request, Response → ServerResponse, client disconnects → AbortSignal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from './app.ts';
import { lightweightRequest, plainResponse } from './lightweight.ts';

/** A `(req, res)` listener for `http.createServer()`. */
export function toNodeListener(app: App, onError: (error: unknown) => void = () => {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void handle(app, req, res).catch((error) => {
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

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  // 'close' on the response fires after a normal finish too; only an early close means the client left.
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });

  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const request = lightweightRequest({
    url: `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
    method,
    headers,
    signal: controller.signal,
    body: hasBody ? bodyStream(req) : null,
  });

  const response = await app.fetch(request);
  const plain = plainResponse(response);
  if (plain) {
    res.writeHead(plain.status, { ...plain.headers, 'content-length': String(Buffer.byteLength(plain.body)) });
    res.end(plain.body);
    return;
  }
  const outHeaders: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    // The connection is node:http's to manage: an app's own `Connection:
    // keep-alive` (SSE responses carry one) would stop Node from adding
    // `Keep-Alive: timeout=…`, which tells clients when idle sockets close.
    if (key === 'set-cookie' || key === 'connection' || key === 'keep-alive') return;
    outHeaders[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) outHeaders['set-cookie'] = cookies;

  if (!response.body) {
    res.writeHead(response.status, outHeaders);
    res.end();
    return;
  }
  const isStream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (!isStream) {
    const body = Buffer.from(await response.arrayBuffer());
    outHeaders['content-length'] = String(body.byteLength);
    res.writeHead(response.status, outHeaders);
    res.end(body);
    return;
  }
  res.writeHead(response.status, outHeaders);
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  controller.signal.addEventListener('abort', cancel, { once: true });
  let cut = false;
  try {
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch {
        // The app errors a stream's body to cut the connection mid-stream (and
        // reports its own failures). Ending the socket sends what was written,
        // then closes without the final chunk: the client sees a dropped connection.
        cut = true;
        if (res.socket) res.socket.end();
        else res.destroy();
        return;
      }
      const { done, value } = step;
      if (done) break;
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      if (controller.signal.aborted) break;
    }
  } finally {
    controller.signal.removeEventListener('abort', cancel);
    if (!cut && !res.destroyed) res.end();
  }
}

/** The request body as a web stream, pulled only when the app reads it. */
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
