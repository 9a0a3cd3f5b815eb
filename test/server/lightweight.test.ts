import { describe, expect, it } from 'vitest';
import { jsonResponse, lightweightRequest, plainResponse } from '../../src/server/lightweight.ts';

const BODY = '{"model":"gpt-4","messages":[{"role":"user","content":"Debug my code"}]}';

function parts(body: string | null = BODY) {
  const controller = new AbortController();
  const headers = new Headers({ 'content-type': 'application/json', 'x-request-id': 'req-1' });
  const stream =
    body === null
      ? null
      : new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode(body));
            c.close();
          },
        });
  return { controller, headers, stream, request: lightweightRequest({ url: 'http://127.0.0.1:8000/v1/messages', method: 'POST', headers, signal: controller.signal, body: stream }) };
}

describe('lightweightRequest', () => {
  it('is a Request whose common fields are the adapter’s own objects', () => {
    const { request, headers, controller, stream } = parts();
    expect(request).toBeInstanceOf(Request);
    expect(request.url).toBe('http://127.0.0.1:8000/v1/messages');
    expect(request.method).toBe('POST');
    expect(request.headers).toBe(headers);
    expect(request.signal).toBe(controller.signal);
    expect(request.body).toBe(stream);
    expect(request.bodyUsed).toBe(false);
  });

  it('answers everything else from a real Request built on first use', async () => {
    const { request } = parts();
    expect(request.mode).toBe('cors');
    expect(request.redirect).toBe('follow');
    expect(await request.json()).toEqual(JSON.parse(BODY));
    expect(request.bodyUsed).toBe(true);
  });

  it('clones, and carries over into a new Request as the vitest plugin forwards it', async () => {
    const { request } = parts();
    const forwarded = new Request('http://127.0.0.1:9/other', {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      body: request.body,
      duplex: 'half',
    } as RequestInit);
    expect(await forwarded.text()).toBe(BODY);

    const { request: second } = parts();
    const copy = second.clone();
    expect(await copy.text()).toBe(BODY);
    expect(await second.text()).toBe(BODY);
  });

  it('reports a body read through its stream as used', async () => {
    const { request } = parts();
    const reader = request.body!.getReader();
    while (!(await reader.read()).done);
    expect(request.bodyUsed).toBe(true);
  });

  it('aborts its signal when the client goes away, also after the real Request exists', () => {
    const { request, controller } = parts(null);
    void request.cache; // builds the real Request
    expect(request.signal.aborted).toBe(false);
    controller.abort();
    expect(request.signal.aborted).toBe(true);
    expect(request.body).toBeNull();
  });
});

describe('jsonResponse', () => {
  it('is a Response with the status, JSON content type, headers and body', async () => {
    const response = jsonResponse(201, '{"ok":true}', { 'x-request-id': 'req-1' });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(await response.json()).toEqual({ ok: true });
  });

  it('hands the adapter its parts while untouched, and nothing once the real Response is in use', async () => {
    const response = jsonResponse(404, '{"error":{}}', { 'x-a': '1' });
    expect(plainResponse(response)).toEqual({ status: 404, headers: { 'content-type': 'application/json', 'x-a': '1' }, body: '{"error":{}}' });
    response.headers.set('x-b', '2');
    expect(plainResponse(response)).toBeUndefined();
    expect(response.headers.get('x-b')).toBe('2');
    expect(await response.text()).toBe('{"error":{}}');
    expect(plainResponse(new Response('{}'))).toBeUndefined();
  });
});
