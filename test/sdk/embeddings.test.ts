/**
 * `POST /v1/embeddings` with the official `openai` package as the client, over
 * a real socket: the mock's deterministic vectors (float and base64, full
 * length and `dimensions`), usage, the call log, routing through a real
 * OpenAI provider (a fake upstream) with its price, and fallback past a
 * provider without embeddings (Anthropic).
 */
import OpenAI from 'openai';
import { defineConfig, startProxy, type TokenPakProxy } from 'tokenpak';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createFakeAnthropic, createFakeOpenAI, FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, type FakeUpstream } from '../support/fake-upstream.ts';

let proxy: TokenPakProxy;
let openai: OpenAI;
let upstream: FakeUpstream;
let anthropicUpstream: FakeUpstream;

beforeAll(async () => {
  [upstream, anthropicUpstream] = await Promise.all([createFakeOpenAI(), createFakeAnthropic()]);
  const config = defineConfig({
    providers: {
      mock: { type: 'mock', latency_ms: 0 },
      openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: upstream.baseUrl, max_retries: 0 },
      anthropic: { type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY, base_url: anthropicUpstream.baseUrl, max_retries: 0 },
    },
    models: {
      'text-embedding-3-small': { provider: 'mock' },
      'text-embedding-3-large': { provider: 'mock' },
      'text-embedding-ada-002': { provider: 'mock' },
      'embed-upstream': { provider: 'openai', model: 'text-embedding-3-small' },
      'embed-fallback': { provider: 'anthropic', model: 'claude-3-5-haiku', fallback_provider: 'mock', fallback_model: 'text-embedding-3-small' },
      'embed-anthropic-only': { provider: 'anthropic', model: 'claude-3-5-haiku' },
    },
  });
  proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-test-not-used', maxRetries: 0 });
});
afterAll(async () => {
  await proxy.close({ graceMs: 0 });
  await Promise.all([upstream.close(), anthropicUpstream.close()]);
});

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
const cosine = (a: readonly number[], b: readonly number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0) / (norm(a) * norm(b));

describe('embeddings.create against the mock', () => {
  test('float: one unit-length vector per input, in order, the same for the same text, with usage', async () => {
    const texts = ['The cat sat on the mat.', 'A cat sat on a mat!', 'Quarterly revenue grew by eight percent.'];
    const first = await openai.embeddings.create({ model: 'text-embedding-3-small', input: texts, encoding_format: 'float' });
    expect(first.object).toBe('list');
    expect(first.model).toBe('text-embedding-3-small');
    expect(first.data.map((d) => d.index)).toEqual([0, 1, 2]);
    for (const item of first.data) {
      expect(item.object).toBe('embedding');
      expect(item.embedding).toHaveLength(1536);
      expect(norm(item.embedding)).toBeCloseTo(1, 6);
    }
    // Texts that share words are closer than texts that do not: a retrieval test gets a meaningful ranking.
    const [cat, cat2, revenue] = first.data.map((d) => d.embedding);
    expect(cosine(cat!, cat2!)).toBeGreaterThan(0.5);
    expect(cosine(cat!, cat2!)).toBeGreaterThan(cosine(cat!, revenue!) + 0.3);
    expect(first.usage.prompt_tokens).toBeGreaterThan(0);
    expect(first.usage.total_tokens).toBe(first.usage.prompt_tokens);

    const again = await openai.embeddings.create({ model: 'text-embedding-3-small', input: texts[2]!, encoding_format: 'float' });
    expect(again.data).toHaveLength(1);
    expect(again.data[0]!.embedding).toEqual(revenue);
  });

  test('the model sets the length: text-embedding-3-large answers 3072 values', async () => {
    const result = await openai.embeddings.create({ model: 'text-embedding-3-large', input: 'hello', encoding_format: 'float' });
    expect(result.data[0]!.embedding).toHaveLength(3072);
  });

  test('base64, the SDK default: the SDK decodes it to the float vector (float32 precision)', async () => {
    const float = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'base64 please', encoding_format: 'float' });
    const decoded = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'base64 please' });
    const vector = decoded.data[0]!.embedding;
    expect(vector).toHaveLength(1536);
    vector.forEach((value, i) => expect(value).toBeCloseTo(float.data[0]!.embedding[i]!, 6));
  });

  test('explicit base64: little-endian float32 bytes of the same vector', async () => {
    const float = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'raw bytes', encoding_format: 'float' });
    const raw = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'raw bytes', encoding_format: 'base64' });
    const text = raw.data[0]!.embedding as unknown as string;
    expect(typeof text).toBe('string');
    const bytes = Buffer.from(text, 'base64');
    expect(bytes.length).toBe(1536 * 4);
    const values = Array.from({ length: 1536 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(values).toEqual(float.data[0]!.embedding.map((v) => Math.fround(v)));
  });

  test('dimensions: the first values of the full vector, normalized again', async () => {
    const full = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'shorter please', encoding_format: 'float' });
    const short = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'shorter please', dimensions: 256, encoding_format: 'float' });
    const vector = short.data[0]!.embedding;
    expect(vector).toHaveLength(256);
    expect(norm(vector)).toBeCloseTo(1, 6);
    const prefix = full.data[0]!.embedding.slice(0, 256);
    const scale = norm(prefix);
    vector.forEach((value, i) => expect(value).toBeCloseTo(prefix[i]! / scale, 9));
  });

  test('dimensions the model cannot give are a 400 that says what to do', async () => {
    const tooMany = openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 4096 });
    await expect(tooMany).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(tooMany).rejects.toThrow(/4096 is more than text-embedding-3-small's 1536/);
    const fixed = openai.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', dimensions: 64 });
    await expect(fixed).rejects.toThrow(/does not support specifying dimensions/);
  });

  test('bad input is a 400 naming the parameter', async () => {
    const empty = await openai.embeddings.create({ model: 'text-embedding-3-small', input: [] }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    expect((empty as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input');
    const blank = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['ok', ''] }).catch((e: unknown) => e);
    expect((blank as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input[1]');
    const unknown = await openai.embeddings.create({ model: 'no-such-embedder', input: 'x' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('token-id input: one vector for a token list, one per list of lists', async () => {
    const one = await openai.embeddings.create({ model: 'text-embedding-3-small', input: [1, 2, 3], encoding_format: 'float' });
    expect(one.data).toHaveLength(1);
    expect(one.usage.prompt_tokens).toBe(3);
    const two = await openai.embeddings.create({ model: 'text-embedding-3-small', input: [[1, 2, 3], [4, 5]], encoding_format: 'float' });
    expect(two.data).toHaveLength(2);
    expect(two.data[0]!.embedding).toEqual(one.data[0]!.embedding);
    expect(two.usage.prompt_tokens).toBe(5);
  });

  test('the call log records each embeddings call with its tokens', async () => {
    const { data, response } = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'logged', encoding_format: 'float' }).withResponse();
    const id = response.headers.get('x-request-id')!;
    await proxy.log.flush();
    const [call] = await proxy.log.query({ model: 'text-embedding-3-small' }).then((calls) => calls.filter((c) => c.id === id));
    expect(call).toMatchObject({ clientFormat: 'openai-embeddings', outcome: 'ok', provider: 'mock', inputTokens: data.usage.prompt_tokens, outputTokens: 0, stream: false, costCents: 0 });
  });
});

describe('embeddings routed to real providers', () => {
  test('an OpenAI provider gets the request upstream; the answer is priced like a chat call', async () => {
    const before = upstream.requests.length;
    const { data, response } = await openai.embeddings.create({ model: 'embed-upstream', input: 'to the upstream', dimensions: 4 }).withResponse();
    const sent = upstream.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe('/v1/embeddings');
    expect(sent[0]!.body).toEqual({ model: 'text-embedding-3-small', input: ['to the upstream'], encoding_format: 'float', dimensions: 4 });
    // The SDK asked for base64 and decoded it: the upstream's floats arrive at float32 precision.
    expect(data.data[0]!.embedding).toEqual([0.0023064255, -0.009327292, -0.0028842222, 0.021736562].map(Math.fround));
    expect(data.usage.prompt_tokens).toBe(8);
    expect(response.headers.get('x-tokenpak-provider')).toBe('openai');
    // text-embedding-3-small costs 2 cents per million input tokens.
    expect(Number(response.headers.get('x-tokenpak-cost-cents'))).toBeCloseTo((8 * 2) / 1e6, 12);
  });

  test('a route whose first provider has no embeddings (Anthropic) falls back to the next', async () => {
    const before = anthropicUpstream.requests.length;
    const { response } = await openai.embeddings.create({ model: 'embed-fallback', input: 'fall back' }).withResponse();
    expect(response.headers.get('x-tokenpak-provider')).toBe('mock');
    expect(response.headers.get('x-tokenpak-attempts')).toBe('2');
    // Anthropic was never called over the network: it has no embeddings endpoint to call.
    expect(anthropicUpstream.requests.length).toBe(before);
    const id = response.headers.get('x-request-id')!;
    await proxy.log.flush();
    const call = (await proxy.log.query({ model: 'embed-fallback' })).find((c) => c.id === id)!;
    expect(call.attempts.map((a) => [a.provider, a.outcome, a.errorCode ?? null])).toEqual([
      ['anthropic', 'error', 'unsupported_endpoint'],
      ['mock', 'ok', null],
    ]);
  });

  test('a route to Anthropic alone answers a 400 that says Anthropic has no embeddings', async () => {
    const error = await openai.embeddings.create({ model: 'embed-anthropic-only', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(String((error as Error).message)).toMatch(/Anthropic has no embeddings API/);
  });
});
