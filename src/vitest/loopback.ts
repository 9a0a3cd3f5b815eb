/**
 * The worker's requests to the run's TokenPak: node:http over kept-alive
 * loopback connections, not `fetch`. For a mocked call the hop is nearly all
 * of the cost, and undici's `fetch` sends a body as a stream (the headers and
 * each chunk in writes of their own) and parses answers in WebAssembly, where
 * node:http sends headers and body in one write and parses natively.
 * `request` is taken from node:http when this module loads, before msw
 * (`interceptHosts: true`) patches node:http, so TokenPak's own requests never
 * pass through msw.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const AGENT = Symbol.for('tokenpak.vitest.agent');

/** One keep-alive pool per process, kept across test files when Vitest does not isolate them. */
function agent(): Agent {
  const global = globalThis as Record<symbol, Agent | undefined>;
  return (global[AGENT] ??= new Agent({ keepAlive: true }));
}

/** Statuses whose answers have no body (`new Response(body)` refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

/** Sends one request; resolves with the answer's head (its body not yet read). */
export function loopbackRequest(url: string, method: string, headers: Headers, body: Uint8Array | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing: Record<string, string> = {};
    headers.forEach((value, key) => (outgoing[key] = value));
    if (body) outgoing['content-length'] = String(body.byteLength);
    const request = httpRequest(url, { method, headers: outgoing, agent: agent(), signal });
    request.once('response', resolve);
    request.once('error', (error) => reject(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: error })));
    request.end(body);
  });
}

/** The answer's headers, as `fetch` gives them. */
export function headersOf(answer: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = answer.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/** Reads the whole answer as UTF-8 text. */
export function textOf(answer: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    answer.once('error', reject);
  });
}

/** The answer as a `Response`, its body streamed. */
export function responseOf(answer: IncomingMessage, method: string, headers: Headers = headersOf(answer)): Response {
  const status = answer.statusCode ?? 502;
  const bodyless = method === 'HEAD' || NO_BODY.has(status);
  if (bodyless) answer.resume();
  const body = bodyless ? null : (Readable.toWeb(answer) as ReadableStream<Uint8Array>);
  return new Response(body, { status, statusText: answer.statusMessage ?? '', headers });
}
