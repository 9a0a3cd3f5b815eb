/**
 * No limit on upstream answers was the "200 MB answer passed through"
 * (issue 11, item 2): past `max_response_bytes` the answer is dropped and the
 * call fails with a 502, JSON answers and streams alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStream } from '../../src/canonical/types.ts';
import { createFakeOpenAI, fixture, fixtureJson, type FakeUpstream } from '../support/fake-upstream.ts';
import { ask, openaiAgainst } from '../support/http-providers.ts';

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await createFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});

const LIMIT = 100_000;

describe('max_response_bytes', () => {
  it('a JSON answer larger than the limit is a 502 provider_error naming the setting', async () => {
    const answer = fixtureJson('openai-chat-text.json');
    answer.choices[0].message.content = 'y'.repeat(LIMIT * 5);
    fake.reply({ kind: 'status', status: 200, body: answer });
    const provider = openaiAgainst(fake, { max_response_bytes: LIMIT });
    const error = await provider.complete(ask('hi')).then(() => undefined, (thrown: unknown) => thrown as { status: number; code: string; message: string; retryable: boolean });
    expect(error).toMatchObject({ status: 502, code: 'provider_error', retryable: false });
    expect(error!.message).toMatch(/sent an answer larger than 100000 bytes \(providers\.openai\.max_response_bytes\); it was dropped/);
    await provider.close?.();
  });

  it('an answer within the limit is read whole', async () => {
    fake.reply({ kind: 'answer', fixture: 'openai-chat-text' });
    const provider = openaiAgainst(fake, { max_response_bytes: LIMIT });
    const response = await provider.complete(ask('hi'));
    expect(response.content.length).toBeGreaterThan(0);
    await provider.close?.();
  });

  it('a stream that grows past the limit ends with the same error', async () => {
    const text = fixture('openai-chat-text.sse.txt');
    const events = text.split('\n\n').filter(Boolean);
    const delta = events.find((e) => e.includes('"content"'))!;
    const padded = Array.from({ length: 200 }, () => delta.replace(/"content":"[^"]*"/, `"content":"${'z'.repeat(1000)}"`)).join('\n\n');
    fake.reply({ kind: 'sse', text: `${events[0]}\n\n${padded}\n\n${events.slice(1).join('\n\n')}\n\n` });
    const provider = openaiAgainst(fake, { max_response_bytes: LIMIT });
    const error = await collectStream(provider.stream(ask('hi', { stream: true } as never))).then(() => undefined, (thrown: unknown) => thrown as { status: number; message: string });
    expect(error?.status).toBe(502);
    expect(error!.message).toMatch(/larger than 100000 bytes/);
    await provider.close?.();
  });
});
