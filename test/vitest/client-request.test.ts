/**
 * What the app sent: each call of a test keeps the request body as the client
 * sent it (`call.clientRequest`) beside TokenPak's own form (`call.request`),
 * and requests refused before routing are calls too, in `calls` and the
 * transcript. End-to-end under Vitest (through the run's TokenPak and the
 * control channel): fixtures/features/misuse.spec.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/load.ts';
import { createScope, type Scope } from '../../src/vitest/scope.ts';
import { createSimulator } from '../../src/vitest/simulator.ts';
import { renderTranscript } from '../../src/vitest/transcript.ts';

const simulator = createSimulator((error) => {
  throw error;
});
afterAll(() => simulator.close());

const config = defineConfig({ providers: { mock: { type: 'mock' } }, models: { 'gpt-4': { provider: 'mock' } } });

function scope(id: string): Scope {
  return createScope({ id, label: `test "${id}"`, url: () => `http://scope/${id}`, config, options: {}, simulator, onInternalError: (error) => { throw error; } });
}

/** The transcript a test of this scope prints (its calls reach the test's process as they are). */
const transcriptOf = (s: Scope) => renderTranscript(s.label, s.calls, s.notes, s.url);

const post = (s: Scope, body: string, path = '/v1/chat/completions') =>
  s.fetch(new Request(`http://127.0.0.1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));

describe('call.clientRequest', () => {
  it('is the body as the app sent it, beside the normalised request', async () => {
    const s = scope('a');
    const body = { model: 'gpt-4', max_tokens: 200, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] };
    expect((await post(s, JSON.stringify(body))).status).toBe(200);
    const call = s.calls[0]!;
    expect(call.clientRequest).toEqual(body);
    expect(call.clientRequest).toMatchObject({ max_tokens: 200 });
    expect(call.request).toMatchObject({ maxTokens: 200, system: 'Be brief.' });
  });

  it('is shown in the transcript', async () => {
    const s = scope('b');
    await post(s, JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }));
    expect(transcriptOf(s)).toContain('     sent: {"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}');
  });
});

describe('requests refused before routing', () => {
  it('an unknown model is a call with its status, error and what was sent; the transcript shows it', async () => {
    const s = scope('c');
    expect((await post(s, JSON.stringify({ model: 'gtp-4', messages: [{ role: 'user', content: 'hi' }] }))).status).toBe(404);
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]).toMatchObject({ model: 'gtp-4', status: 404, errorCode: 'model_not_found', attempts: [], request: undefined, clientRequest: { model: 'gtp-4' } });
    const transcript = transcriptOf(s);
    expect(transcript).toContain(': 1 call');
    expect(transcript).toContain('#1 gtp-4 ✗ 404 model_not_found: Model "gtp-4" is not configured. Did you mean "gpt-4"?');
    expect(transcript).toContain('sent: {"model":"gtp-4","messages":[{"role":"user","content":"hi"}]}');
  });

  it('a body that is not JSON is a call whose clientRequest is the text', async () => {
    const s = scope('d');
    expect((await post(s, '{"model": "gpt-4", ', '/v1/messages')).status).toBe(400);
    expect(s.calls.map((c) => [c.status, c.errorCode, c.clientRequest])).toEqual([[400, 'invalid_request', '{"model": "gpt-4", ']]);
    expect(transcriptOf(s)).toContain('#1 (no model) ✗ 400 invalid_request: The request body is not valid JSON');
  });
});
