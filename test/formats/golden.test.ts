/**
 * Golden files of what TokenPak sends in each wire format: streams as SSE
 * text (`*.sse.txt`) and complete answers and errors as JSON, for a text
 * answer and a tool call. Ids derive from the fixed request id and the mock
 * is deterministic, so only timestamps are normalised. A change to any
 * format's wire shape shows up here as a diff; review it against the API
 * reference before updating the files. A missing or different golden file
 * fails the test; the files are written only when asked for explicitly:
 * `TOKENPAK_UPDATE_GOLDEN=1 npx vitest run test/formats/golden.test.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { normalize, requestFor, startFormatProxy, type FormatProxy } from './helpers.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/wire');
const UPDATE = process.env.TOKENPAK_UPDATE_GOLDEN === '1';

/** Compares `actual` with the golden file `name`; rewrites it only under TOKENPAK_UPDATE_GOLDEN=1. */
function expectGolden(actual: string, name: string): void {
  const path = join(FIXTURES, name);
  if (UPDATE) {
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    expect.fail(`Golden file test/fixtures/wire/${name} is missing. Review the output, then write it with TOKENPAK_UPDATE_GOLDEN=1 npx vitest run test/formats/golden.test.ts.`);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
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
    expectGolden(normalize(await response.text()), `${format}.${name}.sse.txt`);
  });

  test.each(answers)('%s answer', async (name, model) => {
    const { path, headers, body } = requestFor(format, model);
    const response = await server.post(path, body, { ...headers, 'x-request-id': `golden-${name}` });
    expect(response.status).toBe(200);
    const json = JSON.stringify(await response.json(), null, 2);
    expectGolden(normalize(json) + '\n', `${format}.${name}.json`);
  });

  test('overloaded error', async () => {
    const { path, headers, body } = requestFor(format, 'overloaded-model');
    const response = await server.post(path, body, { ...headers, 'x-request-id': 'golden-error' });
    // OpenAI has no 529; its formats say 503, which its SDKs retry the same way.
    expect(response.status).toBe(format === 'anthropic-messages' ? 529 : 503);
    const json = JSON.stringify(await response.json(), null, 2);
    expectGolden(json + '\n', `${format}.overloaded.json`);
  });
});
