/**
 * No secret reaches a cassette: API keys, header values from the environment,
 * upstream answers that echo them, and user redactions that span two events.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/load.ts';
import { FAKE_OPENAI_KEY, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { openaiBody, post, proxyWith, sseEvents, tempDir, useFakes } from './helpers.ts';

const HEADER_SECRET = 'azure-secret-Zq81xVb44Lm';
const ACCOUNT = 'acct_12345678';

const fakes = useFakes();
let openai: FakeUpstream;
let anthropic: FakeUpstream;
let scratch: ReturnType<typeof tempDir>;
beforeEach(() => ({ openai, anthropic, scratch } = fakes));

const chunk = (content: string, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4', choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;

function config(mode: 'record' | 'replay') {
  return defineConfig(
    {
      providers: {
        openai: { type: 'openai', api_key: '${OPENAI_KEY}', base_url: openai.baseUrl, headers: { 'x-azure-key': '${AZURE_KEY}' }, retry_base_ms: 1 },
      },
      models: { 'gpt-4': { provider: 'openai' } },
      cassettes: { mode, dir: scratch.dir, redact: ['/acct_[0-9]{8}/'] },
    },
    { env: { OPENAI_KEY: FAKE_OPENAI_KEY, AZURE_KEY: HEADER_SECRET } },
  );
}

function cassetteText(): string {
  return readdirSync(scratch.dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(scratch.dir, f), 'utf8'))
    .join('\n');
}

it('keeps keys, header secrets and echoed secrets out, and redacts a pattern split over two stream events', async () => {
  openai.reply(
    // An error body that echoes the key and the header value, as some gateways do.
    replies.status(400, { error: { message: `Bad key ${FAKE_OPENAI_KEY} with header ${HEADER_SECRET}`, type: 'invalid_request_error' } }),
    {
      kind: 'sse',
      text:
        chunk('Your account is acct_1234') +
        chunk(`5678, key ${FAKE_OPENAI_KEY.slice(0, 20)}`) +
        chunk(`${FAKE_OPENAI_KEY.slice(20)}. Thanks`) +
        chunk('', { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
        chunk('', { choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }) +
        'data: [DONE]\n\n',
    },
  );
  const proxy = await proxyWith(config('record'));
  try {
    const failed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('first'));
    expect(failed.status).toBe(400);
    const streamed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('second', { stream: true }));
    expect(streamed.status).toBe(200);
  } finally {
    await proxy.close();
  }
  // The request really carried them: the fake saw both.
  expect(openai.requests[0]!.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
  expect(openai.requests[0]!.headers['x-azure-key']).toBe(HEADER_SECRET);

  const text = cassetteText();
  expect(text).not.toContain(FAKE_OPENAI_KEY);
  expect(text).not.toContain(FAKE_OPENAI_KEY.slice(0, 20));
  expect(text).not.toContain(FAKE_OPENAI_KEY.slice(20));
  expect(text).not.toContain(HEADER_SECRET);
  expect(text).not.toContain('acct_1234');
  expect(text).not.toContain(ACCOUNT);
  expect(text).not.toMatch(/authorization|x-api-key|x-azure-key/i);
  expect(text).toContain('[REDACTED]');

  // The cassette still replays, with the redacted text.
  await openai.close();
  const replay = await proxyWith(config('replay'));
  try {
    const streamed = await post(`${replay.url}/v1/chat/completions`, openaiBody('second', { stream: true }));
    const content = sseEvents(streamed.text)
      .map((e) => e.slice(6).trim())
      .filter((d) => d.startsWith('{'))
      .map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(content).toBe('Your account is [REDACTED], key [REDACTED]. Thanks');
  } finally {
    await replay.close();
  }
});
