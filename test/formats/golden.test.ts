/**
 * Golden files of what TokenPak sends in each wire format: streams as SSE
 * text (`*.sse.txt`) and complete answers and errors as JSON, for a text
 * answer and a tool call. Ids derive from the fixed request id and the mock
 * is deterministic, so only timestamps are normalised. A change to any
 * format's wire shape shows up here as a diff; review it against the API
 * reference before updating the files (`npx vitest run test/formats -u`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { normalize, requestFor, startFormatProxy, type FormatProxy } from './helpers.ts';

const FIXTURES = '../fixtures/wire';
let server: FormatProxy;

beforeAll(async () => {
  server = await startFormatProxy();
});
afterAll(() => server.close());
beforeEach(() => server.mock.reset());

const formats = ['openai-chat', 'openai-responses', 'anthropic-messages'] as const;
const answers = [
  ['text', 'text-model'],
  ['tool-call', 'tool-model'],
] as const;

describe.each(formats)('%s', (format) => {
  test.each(answers)('%s stream', async (name, model) => {
    const extra = format === 'openai-chat' ? { stream: true, stream_options: { include_usage: true } } : { stream: true };
    const { path, headers, body } = requestFor(format, model, extra);
    const response = await server.post(path, body, { ...headers, 'x-request-id': `golden-${name}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await expect(normalize(await response.text())).toMatchFileSnapshot(`${FIXTURES}/${format}.${name}.sse.txt`);
  });

  test.each(answers)('%s answer', async (name, model) => {
    const { path, headers, body } = requestFor(format, model);
    const response = await server.post(path, body, { ...headers, 'x-request-id': `golden-${name}` });
    expect(response.status).toBe(200);
    const json = JSON.stringify(await response.json(), null, 2);
    await expect(normalize(json) + '\n').toMatchFileSnapshot(`${FIXTURES}/${format}.${name}.json`);
  });

  test('overloaded error', async () => {
    const { path, headers, body } = requestFor(format, 'overloaded-model');
    const response = await server.post(path, body, { ...headers, 'x-request-id': 'golden-error' });
    // OpenAI has no 529; its formats say 503, which its SDKs retry the same way.
    expect(response.status).toBe(format === 'anthropic-messages' ? 529 : 503);
    const json = JSON.stringify(await response.json(), null, 2);
    await expect(json + '\n').toMatchFileSnapshot(`${FIXTURES}/${format}.overloaded.json`);
  });
});
