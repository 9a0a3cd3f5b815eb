/**
 * OpenTelemetry traces from the built `tokenpak proxy`: an OTLP/HTTP receiver
 * started here (node:http, the exporter's JSON encoding) gets one span per call
 * and one child per attempt, with the GenAI attributes, for a mock call and a
 * call that falls back; each attempt passes its own `traceparent` upstream, in
 * the client's trace. Traces are off, the SDK not even loaded, unless the
 * config or the OTEL_EXPORTER_OTLP_* variables ask for them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv } from '../cli/helpers.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, fixtureJson, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { watchProxy } from '../support/proxy-process.ts';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number; message?: string };
}
/** A span as the tests read it: attributes as plain values. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  statusCode: number;
  service: unknown;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

function plain(value: OtlpValue): unknown {
  if (value.arrayValue) return value.arrayValue.values.map(plain);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue ?? value.doubleValue;
}

/** An OTLP/HTTP traces receiver: JSON bodies on POST /v1/traces. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const resourceSpan of body.resourceSpans) {
        const service = resourceSpan.resource.attributes.find((a) => a.key === 'service.name');
        for (const scope of resourceSpan.scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: Object.fromEntries(span.attributes.map((a) => [a.key, plain(a.value)])),
              statusCode: span.status?.code ?? 0,
              service: service ? plain(service.value) : undefined,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, spans, contentTypes, close: () => new Promise<void>((done) => server.close(() => done())) };
}

const work = mkdtempSync(join(tmpdir(), 'tokenpak-traces-'));
const children: ChildProcess[] = [];
/** Prints each @opentelemetry module the process resolves: what "the SDK is not loaded" is checked with. */
const REPORT_OTEL_LOADS = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); if (result.url.includes('@opentelemetry')) process.stderr.write('[loaded] ' + result.url + '\\n'); return result; } });",
)}`;

/** `tokenpak proxy` (the built CLI), stopped by {@link stop}, which resolves with its output. */
async function startProxy(configFile: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', REPORT_OTEL_LOADS, bin, 'proxy', '--config', configFile, '--port', '0', '--host', '127.0.0.1'], {
    cwd: work,
    env: cleanEnv({ OPENAI_KEY: FAKE_OPENAI_KEY, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const { listening, exited, output } = watchProxy(child);
  const url = await listening;
  return {
    url,
    output,
    /** SIGTERM: the proxy ends its calls and sends the spans it still holds. */
    async stop() {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      return output();
    },
  };
}

async function post(url: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

const hex = (length: number, digit: string) => digit.repeat(length);

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let openai: FakeUpstream;

beforeAll(async () => {
  [receiver, openai] = await Promise.all([startReceiver(), createFakeOpenAI()]);
  const providers = (telemetry: string) => `providers:
  mock:
    type: mock
    latency_ms: 0
    responses:
      gpt-4: { default: "Mock answer for the trace" }
  openai:
    type: openai
    api_key: \${OPENAI_KEY}
    base_url: ${openai.baseUrl}
    max_retries: 0
  openai_backup:
    type: openai
    api_key: \${OPENAI_KEY}
    base_url: ${openai.baseUrl}
    max_retries: 0
models:
  gpt-4: { provider: mock }
  gpt-4o: { provider: openai, fallback_provider: openai_backup }
${telemetry}`;
  writeFileSync(join(work, 'traced.yaml'), providers(`telemetry:\n  endpoint: ${receiver.url}/v1/traces\n  service_name: gateway-under-test\n`));
  writeFileSync(join(work, 'plain.yaml'), providers(''));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([receiver?.close(), openai?.close()]);
  rmSync(work, { recursive: true, force: true });
});

describe('traces', () => {
  it('a mock call and a fallback call: one span per call, one child per attempt, GenAI attributes, traceparent in and upstream', async () => {
    receiver.spans.length = 0;
    openai.requests.length = 0;
    const proxy = await startProxy('traced.yaml');
    const mockTrace = hex(32, 'a');
    const mockParent = hex(16, 'b');
    const mock = await post(`${proxy.url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] }, { traceparent: `00-${mockTrace}-${mockParent}-01` });
    expect(mock.status).toBe(200);

    const fallbackTrace = hex(32, 'c');
    const fallbackParent = hex(16, 'd');
    openai.reply(replies.status(503, { error: { message: 'The server is overloaded', type: 'server_error', param: null, code: null } }));
    const fallback = await post(
      `${proxy.url}/v1/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'What is the capital of France?' }] },
      { traceparent: `00-${fallbackTrace}-${fallbackParent}-01` },
    );
    expect(fallback.status).toBe(200);
    const output = await proxy.stop();
    expect(output).toContain('traces: OTLP/HTTP, service.name gateway-under-test');
    expect(receiver.contentTypes[0]).toBe('application/json');

    const spans = receiver.spans;
    expect(spans).toHaveLength(5);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['gateway-under-test']));

    // The mock call: a server span under the client's span, one attempt under it.
    const mockCall = spans.find((s) => s.traceId === mockTrace && s.parentSpanId === mockParent)!;
    expect(mockCall).toMatchObject({ name: 'chat gpt-4', kind: SPAN_KIND_SERVER, statusCode: 0 });
    expect(mockCall.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'mock',
      'gen_ai.request.model': 'gpt-4',
      'gen_ai.response.model': 'gpt-4',
      'gen_ai.usage.input_tokens': mock.body.usage.input_tokens,
      'gen_ai.usage.output_tokens': mock.body.usage.output_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'tokenpak.request_id': mock.body.id,
    });
    expect(mockCall.attributes).not.toHaveProperty('error.type');
    const mockAttempts = spans.filter((s) => s.parentSpanId === mockCall.spanId);
    expect(mockAttempts).toHaveLength(1);
    expect(mockAttempts[0]).toMatchObject({ name: 'chat gpt-4', kind: SPAN_KIND_CLIENT, traceId: mockTrace });
    expect(mockAttempts[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'mock', 'gen_ai.request.model': 'gpt-4', 'tokenpak.provider': 'mock' });
    expect(mockAttempts[0]!.attributes).not.toHaveProperty('server.address');

    // The fallback call: the failed attempt at openai, then openai_backup's answer.
    const fallbackCall = spans.find((s) => s.traceId === fallbackTrace && s.parentSpanId === fallbackParent)!;
    const answer = fixtureJson('openai-chat-text.json');
    expect(fallbackCall).toMatchObject({ name: 'chat gpt-4o', kind: SPAN_KIND_SERVER, statusCode: 0 });
    expect(fallbackCall.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': answer.usage.prompt_tokens,
      'gen_ai.usage.output_tokens': answer.usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'tokenpak.provider': 'openai_backup',
    });
    const [failed, answered] = spans.filter((s) => s.parentSpanId === fallbackCall.spanId).sort((a, b) => Number(a.attributes['tokenpak.attempt']) - Number(b.attributes['tokenpak.attempt']));
    const port = Number(new URL(openai.url).port);
    expect(failed).toMatchObject({ name: 'chat gpt-4o', kind: SPAN_KIND_CLIENT, traceId: fallbackTrace, statusCode: STATUS_ERROR });
    expect(failed!.attributes).toMatchObject({ 'tokenpak.provider': 'openai', 'error.type': expect.stringMatching(/^[a-z_]+$/), 'server.address': '127.0.0.1', 'server.port': port });
    expect(answered).toMatchObject({ name: 'chat gpt-4o', kind: SPAN_KIND_CLIENT, traceId: fallbackTrace, statusCode: 0 });
    expect(answered!.attributes).toMatchObject({
      'tokenpak.provider': 'openai_backup',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.output_tokens': answer.usage.completion_tokens,
      'server.address': '127.0.0.1',
      'server.port': port,
    });
    expect(answered!.attributes).not.toHaveProperty('error.type');

    // Upstream, each attempt carried its own span as the parent, in the client's trace.
    expect(openai.requests.map((r) => r.headers.traceparent)).toEqual([`00-${fallbackTrace}-${failed!.spanId}-01`, `00-${fallbackTrace}-${answered!.spanId}-01`]);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT alone turns traces on; a call without traceparent starts its own trace; a stream is traced when it ends', async () => {
    receiver.spans.length = 0;
    const proxy = await startProxy('plain.yaml', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'from-env' });
    const answer = await post(`${proxy.url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] });
    expect(answer.status).toBe(200);
    // A stream: its span ends when the stream does, with the usage of its final event.
    const streamed = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } }),
    });
    const events = (await streamed.text()).split('\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice(6)));
    const usage = events.at(-1).usage;
    const output = await proxy.stop();
    expect(output).toContain('[loaded]');
    const calls = receiver.spans.filter((s) => s.name === 'chat gpt-4' && s.kind === SPAN_KIND_SERVER);
    expect(calls).toHaveLength(2);
    const call = calls.find((s) => s.attributes['tokenpak.stream'] === false)!;
    expect(call).toMatchObject({ parentSpanId: undefined, service: 'from-env' });
    expect(call.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(receiver.spans.filter((s) => s.parentSpanId === call.spanId)).toHaveLength(1);
    const stream = calls.find((s) => s.attributes['tokenpak.stream'] === true)!;
    expect(stream.traceId).not.toBe(call.traceId);
    expect(stream.attributes).toMatchObject({
      'gen_ai.response.model': 'gpt-4',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'tokenpak.client_format': 'openai-chat',
    });
    expect(receiver.spans.filter((s) => s.parentSpanId === stream.spanId)).toHaveLength(1);
  });

  it('a request refused for an unknown model is a span with the error, its model name cut to 200 characters', async () => {
    receiver.spans.length = 0;
    const proxy = await startProxy('traced.yaml');
    const longName = `gpt-${'x'.repeat(5_000)}`;
    const refused = await post(`${proxy.url}/v1/chat/completions`, { model: longName, messages: [{ role: 'user', content: 'hello' }] });
    expect(refused.status).toBe(404);
    await proxy.stop();
    expect(receiver.spans).toHaveLength(1);
    const [span] = receiver.spans;
    expect(span!.name).toBe('chat');
    expect(span!.attributes).toMatchObject({ 'gen_ai.request.model': `${longName.slice(0, 200)}…`, 'error.type': 'model_not_found' });
  });

  it('a collector that cannot be reached: calls are answered, stderr says spans were lost and what to check (OTEL_BSP_SCHEDULE_DELAY honoured)', async () => {
    // A port that was free a moment ago and has nothing listening now.
    const closed = createServer();
    await new Promise<void>((ready) => closed.listen(0, '127.0.0.1', ready));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const proxy = await startProxy('plain.yaml', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect((await post(`${proxy.url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] })).status).toBe(200);
    // The batch goes out 50 ms after the call (the default is 5 s) and fails: the warning comes while the proxy serves.
    await expect.poll(proxy.output, { timeout: 10_000, interval: 50 }).toContain('[tokenpak] traces: 2 span(s) could not be sent');
    expect(proxy.output()).toContain('check telemetry.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT. Calls are not affected.');
    expect((await post(`${proxy.url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'again' }] })).status).toBe(200);
    // The stop does not wait out the exporter's retries (10 s): it gives the collector 2 s and says what was lost.
    expect(await proxy.stop()).toContain('[tokenpak] traces: the last spans were not sent (the collector did not take them within 2000 ms)');
  });

  it('without telemetry: in the config nor the variables, the OpenTelemetry packages are never loaded', async () => {
    receiver.spans.length = 0;
    const proxy = await startProxy('plain.yaml');
    expect((await post(`${proxy.url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] })).status).toBe(200);
    const output = await proxy.stop();
    expect(output).not.toContain('[loaded]');
    expect(output).not.toContain('traces:');
    expect(receiver.spans).toEqual([]);
  });
});
