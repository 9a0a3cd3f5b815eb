/**
 * Prometheus metrics over real sockets: known traffic (mock answers, a
 * fallback, a stream, an unknown model, a priced upstream behind a fake OpenAI
 * API) gives exactly the counts, tokens, cost and histogram counts it should;
 * /metrics needs a client key under server.auth, or sits on its own port.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, startProxy, type MockProvider, type TokenPakProxy } from 'tokenpak';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { AttemptRecord, CallRecord } from '../../src/logs/types.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, replies, type FakeUpstream } from '../support/fake-upstream.ts';

const CLIENT_KEY = 'metrics-test-client-key-0123456789';

const yamlFor = (fake: FakeUpstream, extra = 'metrics: {}') => `
providers:
  primary: {type: mock, responses: {"*": {default: "Hello from the primary"}}}
  backup: {type: mock, responses: {"*": {default: "Hello from the backup"}}}
  openai: {type: openai, api_key: ${FAKE_OPENAI_KEY}, base_url: ${fake.baseUrl}, max_retries: 0}
models:
  gpt-4: {provider: primary, fallback_provider: [backup]}
  priced: {provider: openai, model: priced-model}
pricing:
  priced-model: {input: 300, output: 600}
server:
  auth: {keys: [${CLIENT_KEY}]}
${extra}
`;

const running: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((thing) => thing.close()));
});

async function setUp(extra?: string): Promise<{ proxy: TokenPakProxy; fake: FakeUpstream; client: OpenAI }> {
  const fake = await createFakeOpenAI();
  running.push(fake);
  const proxy = await startProxy({ config: parseConfig(yamlFor(fake, extra), { env: {} }), port: 0, host: '127.0.0.1' });
  running.unshift({ close: () => proxy.close({ graceMs: 0 }) });
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  return { proxy, fake, client };
}

/** Samples of a scrape, keyed `name{label="value",…}` with the labels sorted. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = (match[2] ?? '').match(/[a-z_]+="[^"]*"/g) ?? [];
    found.set(`${match[1]}{${labels.sort().join(',')}}`, Number(match[3]));
  }
  return found;
}

async function scrape(url: string, key: string | undefined = CLIENT_KEY): Promise<Map<string, number>> {
  const response = await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return samples(await response.text());
}

describe('metrics after known traffic', () => {
  it('count requests, attempts, fallbacks, tokens and cost exactly, and time each call once', async () => {
    const { proxy, client } = await setUp();
    const ask = (model: string, stream = false) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream } as never);

    await ask('gpt-4');
    await ask('gpt-4');
    (proxy.providers.get('primary') as MockProvider).failNext(1, 503);
    await ask('gpt-4');
    for await (const _chunk of (await ask('gpt-4', true)) as unknown as AsyncIterable<unknown>) {
      // Read the whole stream.
    }
    await expect(ask('gpt-9')).rejects.toMatchObject({ status: 404 });
    await ask('priced');
    await ask('priced');

    await proxy.log.flush();
    const calls = await proxy.log.query();
    expect(calls).toHaveLength(7);
    const tokens = (provider: string, field: 'inputTokens' | 'outputTokens') =>
      calls.filter((call) => call.provider === provider && call.model === 'gpt-4').reduce((sum, call) => sum + call[field], 0);
    const primaryIn = tokens('primary', 'inputTokens');
    // The mock counts real tokens: the figures are the call log's, and they are not nothing.
    expect(primaryIn).toBeGreaterThan(0);

    const m = await scrape(`${proxy.url}/metrics`);
    expect(m.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="primary"}')).toBe(3);
    expect(m.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="backup"}')).toBe(1);
    expect(m.get('tokenpak_requests_total{model="(unknown)",outcome="error",provider="(none)"}')).toBe(1);
    expect(m.get('tokenpak_requests_total{model="priced",outcome="ok",provider="openai"}')).toBe(2);
    expect(m.get('tokenpak_attempts_total{model="gpt-4",outcome="ok",provider="primary"}')).toBe(3);
    expect(m.get('tokenpak_attempts_total{model="gpt-4",outcome="error",provider="primary"}')).toBe(1);
    expect(m.get('tokenpak_attempts_total{model="gpt-4",outcome="ok",provider="backup"}')).toBe(1);
    expect(m.get('tokenpak_fallbacks_total{model="gpt-4",provider="backup"}')).toBe(1);
    expect(m.get('tokenpak_input_tokens_total{model="gpt-4",provider="primary"}')).toBe(primaryIn);
    expect(m.get('tokenpak_output_tokens_total{model="gpt-4",provider="primary"}')).toBe(tokens('primary', 'outputTokens'));
    expect(m.get('tokenpak_input_tokens_total{model="gpt-4",provider="backup"}')).toBe(tokens('backup', 'inputTokens'));
    // The fake OpenAI answers with 26 prompt and 15 completion tokens, at 300 and 600 cents per million.
    expect(m.get('tokenpak_input_tokens_total{model="priced",provider="openai"}')).toBe(52);
    expect(m.get('tokenpak_output_tokens_total{model="priced",provider="openai"}')).toBe(30);
    expect(m.get('tokenpak_cost_cents_total{model="priced",provider="openai"}')).toBeCloseTo(2 * (26 * 300 + 15 * 600) / 1e6, 12);
    // Mock answers cost nothing: no cost series for them.
    expect(m.has('tokenpak_cost_cents_total{model="gpt-4",provider="primary"}')).toBe(false);
    expect(m.get('tokenpak_request_duration_seconds_count{model="gpt-4",stream="false"}')).toBe(3);
    expect(m.get('tokenpak_request_duration_seconds_count{model="gpt-4",stream="true"}')).toBe(1);
    expect(m.get('tokenpak_request_duration_seconds_count{model="(unknown)",stream="false"}')).toBe(1);
    expect(m.get('tokenpak_request_duration_seconds_count{model="priced",stream="false"}')).toBe(2);
    expect(m.get('tokenpak_time_to_first_token_seconds_count{model="gpt-4"}')).toBe(1);
    // The refused call reached no provider: it has no overhead sample.
    expect(m.get('tokenpak_overhead_seconds_count{stream="false"}')).toBe(5);
    expect(m.get('tokenpak_overhead_seconds_count{stream="true"}')).toBe(1);
    // The histogram's sum is the call log's latencies, in seconds.
    const gpt4Latency = calls.filter((call) => call.model === 'gpt-4' && !call.stream).reduce((sum, call) => sum + call.latencyMs, 0);
    expect(m.get('tokenpak_request_duration_seconds_sum{model="gpt-4",stream="false"}')).toBeCloseTo(gpt4Latency / 1000, 6);
    // Bounded labels: no series names the unknown model or a request id.
    expect([...m.keys()].filter((key) => key.includes('gpt-9') || key.includes(calls[0]!.id))).toEqual([]);
  });

  it('show the upstream pool: a connection in use while a call waits on it, open and idle after', async () => {
    const { proxy, fake, client } = await setUp();
    fake.reply(replies.answer('openai-chat-text', { delayMs: 1_500 }));
    const pending = client.chat.completions.create({ model: 'priced', messages: [{ role: 'user', content: 'hi' }] });
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const during = await scrape(`${proxy.url}/metrics`);
    expect(during.get('tokenpak_upstream_connections{provider="openai",state="in_use"}')).toBe(1);
    expect(during.get('tokenpak_upstream_connections{provider="openai",state="open"}')).toBe(1);
    await pending;
    const after = await scrape(`${proxy.url}/metrics`);
    expect(after.get('tokenpak_upstream_connections{provider="openai",state="in_use"}')).toBe(0);
    expect(after.get('tokenpak_upstream_queued_requests{provider="openai"}')).toBe(0);
    // Mock providers keep no pool.
    expect(after.has('tokenpak_upstream_connections{provider="primary",state="open"}')).toBe(false);
  });
});

describe('where /metrics is served', () => {
  it('on the proxy port, it needs a client key when server.auth is set', async () => {
    const { proxy } = await setUp();
    const refused = await fetch(`${proxy.url}/metrics`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain('tokenpak_requests_total');
    await scrape(`${proxy.url}/metrics`);
  });

  it('on metrics.port, it needs no key, and the proxy port does not serve it', async () => {
    const { proxy, client } = await setUp('metrics: {port: 0}');
    expect(proxy.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    const m = await scrape(proxy.metricsUrl!, undefined);
    expect(m.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="primary"}')).toBe(1);
    expect((await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status).toBe(404);
  });

  it('without metrics: in the config there is no /metrics', async () => {
    const { proxy } = await setUp('');
    expect(proxy.metricsUrl).toBeUndefined();
    expect((await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status).toBe(404);
  });
});

describe('the metrics: config', () => {
  const base = 'providers: {mock: {type: mock}}\nmodels: {gpt-4: {provider: mock}}\n';
  it('names a metrics port equal to the proxy port, and a misspelt key, with the fix', () => {
    expect(() => parseConfig(`${base}server: {port: 9000}\nmetrics: {port: 9000}\n`, { env: {} })).toThrow(/metrics\.port: must differ from server\.port/);
    expect(() => parseConfig(`${base}metrics: {prot: 9100}\n`, { env: {} })).toThrow(/metrics.*prot.*port/s);
  });
  it('is off without a metrics: section and on with an empty one', () => {
    expect(parseConfig(base, { env: {} }).metrics).toEqual({ enabled: false, host: '127.0.0.1' });
    expect(parseConfig(`${base}metrics: {}\n`, { env: {} }).metrics).toEqual({ enabled: true, host: '127.0.0.1' });
  });
});

describe('metrics across a config reload', () => {
  it('keep counting, and a route added by the reload gets its own label', async () => {
    const { proxy, fake, client } = await setUp();
    await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    const result = proxy.reload(parseConfig(yamlFor(fake).replace('  gpt-4: {provider: primary, fallback_provider: [backup]}', '  gpt-4: {provider: primary}\n  gpt-5: {provider: backup}'), { env: {} }));
    expect(result.needsRestart).toEqual([]);
    await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    const m = await scrape(`${proxy.url}/metrics`);
    expect(m.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="primary"}')).toBe(2);
    expect(m.get('tokenpak_requests_total{model="gpt-5",outcome="ok",provider="backup"}')).toBe(1);
  });
});

describe('the metrics observer on its own', () => {
  const attempt: AttemptRecord = { provider: 'p', providerType: 'mock', model: 'm', outcome: 'ok', status: 200, latencyMs: 1, inputTokens: 2, outputTokens: 3, costCents: 0.5 };
  const call = (i: number): CallRecord => ({ id: `r${i}`, startedAt: 0, clientFormat: 'openai-chat', model: 'gpt-4', provider: 'p', upstreamModel: 'm', outcome: 'ok', status: 200, latencyMs: 4, inputTokens: 2, outputTokens: 3, costCents: 0.5, stream: false, attempts: [attempt] });
  const watchOne = (metrics: ReturnType<typeof createMetrics>, i: number) => {
    const watch = metrics.observer.onCallStart({ requestId: `r${i}`, startedAt: 0, started: 0, clientFormat: 'openai-chat', model: 'gpt-4', route: 'gpt-4', stream: false, headers: undefined, client: undefined })!;
    watch.onCallEnd!(call(i), { latencyMs: 4, ttftMs: undefined, upstreamMs: 1 }, { model: 'm', stopReason: 'stop' });
  };

  it('counts every call at a scrape, also those past the batch that is added between requests', async () => {
    const metrics = createMetrics({ providers: () => [] });
    for (let i = 0; i < 1_500; i++) watchOne(metrics, i);
    // From 1,024 waiting calls on, they are added off the request path, without waiting for a scrape.
    await new Promise((resolve) => setImmediate(resolve));
    const between = samples(await metrics.registry.metrics());
    expect(between.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="p"}')).toBe(1_500);
    for (let i = 0; i < 10; i++) watchOne(metrics, i);
    const m = samples((await metrics.render()).body);
    // The 10 after it, fewer than a batch, are added at the scrape.
    expect(m.get('tokenpak_requests_total{model="gpt-4",outcome="ok",provider="p"}')).toBe(1_510);
    expect(m.get('tokenpak_input_tokens_total{model="gpt-4",provider="p"}')).toBe(3_020);
    expect(m.get('tokenpak_cost_cents_total{model="gpt-4",provider="p"}')).toBe(755);
    expect(m.get('tokenpak_overhead_seconds_count{stream="false"}')).toBe(1_510);
    // 3 ms of overhead each: all in the 0.005 s bucket, none in the 0.0025 s one.
    expect(m.get('tokenpak_overhead_seconds_bucket{le="0.0025",stream="false"}')).toBe(0);
    expect(m.get('tokenpak_overhead_seconds_bucket{le="0.005",stream="false"}')).toBe(1_510);
  });
});
