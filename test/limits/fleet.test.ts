/**
 * A fleet: three built `tokenpak proxy` processes sharing one PostgreSQL call
 * log and one Redis, behind a round-robin load balancer of the test's own.
 * Limits and budgets hold for the fleet, not per replica, and `tokenpak logs`
 * and `tokenpak stats` read every replica's calls.
 */
import Anthropic from '@anthropic-ai/sdk';
import { writeFileSync } from 'node:fs';
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, startProxy, tempDir, until, useCliCleanup, type RunningProxy } from '../cli-logs/helpers.ts';
import { DATABASE_URL, dropSchemas, sql, uniqueSchema } from '../logs/postgres-helpers.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, type FakeUpstream } from '../support/fake-upstream.ts';
import { deletePrefixes, REDIS_URL, uniquePrefix } from './redis-helpers.ts';

useCliCleanup();

const RATE_KEY = 'fleet-rate-key-0123456789';
const BUDGET_KEY = 'fleet-budget-key-0123456789';
const work = tempDir('fleet');
const schema = uniqueSchema('fleet');
const prefix = uniquePrefix('fleet');
const env = { DATABASE_URL, REDIS_URL };

let fake: FakeUpstream;
let replicas: RunningProxy[] = [];
let balancer: Server;
let url: string;
/** Requests the balancer sent to each replica. */
const sent = [0, 0, 0];

/** A round-robin HTTP load balancer: request n goes to replica n mod 3, tagged with an x-request-id naming it. */
function roundRobin(backends: string[]): Promise<Server> {
  let next = 0;
  const server = createServer((req, res) => {
    const index = next++ % backends.length;
    sent[index]!++;
    const target = new URL(req.url ?? '/', backends[index]);
    const upstream = forward(target, { method: req.method, headers: { ...req.headers, host: target.host, 'x-request-id': `r${index}-${next}` } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(server)));
}

beforeAll(async () => {
  fake = await createFakeOpenAI();
  // Priced at 1 cent per input token and 2 per output token, the fake's answers (26 in, 15 out) cost 56 cents.
  writeFileSync(
    join(work, 'fleet.yaml'),
    `providers:
  mock:
    type: mock
    responses:
      gpt-4: { default: "Mock GPT-4 response: [mock output for testing]" }
  openai:
    type: openai
    api_key: ${FAKE_OPENAI_KEY}
    base_url: ${fake.baseUrl}
    max_retries: 0
models:
  gpt-4: { provider: mock }
  gpt-4-priced: { provider: openai, model: gpt-4 }
pricing:
  gpt-4: { input: 1000000, output: 2000000 }
server:
  auth:
    keys:
      - key: ${RATE_KEY}
        name: load-test
        limits: { requests_per_minute: 10 }
      - key: ${BUDGET_KEY}
        name: team-b
        limits: { cents_per_day: 100 }
logs:
  store: postgres
  url: \${DATABASE_URL}
  schema: ${schema}
state:
  redis: \${REDIS_URL}
  prefix: ${prefix}
`,
  );
  replicas = await Promise.all([0, 1, 2].map(() => startProxy(['--config', 'fleet.yaml', '--port', '0'], { cwd: work, env })));
  balancer = await roundRobin(replicas.map((replica) => replica.url));
  url = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  balancer?.close();
  for (const replica of replicas) replica.child.kill('SIGTERM');
  await Promise.all(replicas.map((replica) => replica.exited));
  await fake?.close();
  await dropSchemas();
  await deletePrefixes();
}, 30_000);

const openai = (key: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
const ask = (client: OpenAI, model = 'gpt-4', stream = false) =>
  stream
    ? client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Debug my code' }], stream: true }).then(async (events) => {
        for await (const _ of events);
      })
    : client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Debug my code' }] });
const loggedCalls = async () => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".tokenpak_calls`))[0]!.n);

describe('a fleet of three proxies on one Redis and one PostgreSQL', () => {
  it('30 requests spread over the three replicas against 10 requests per minute: exactly 10 pass, 20 get the 429 of their format with retry-after', async () => {
    const before = [...sent];
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => ask(openai(RATE_KEY))));
    expect(sent.map((n, i) => n - before[i]!)).toEqual([10, 10, 10]);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as InstanceType<typeof OpenAI.APIError>] : []));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(refused).toHaveLength(20);
    for (const error of refused) {
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.code).toBe('rate_limit_exceeded');
      expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(refused[0]!.message).toContain('Client key "load-test" has reached its limit of 10 requests per minute');
    // Every replica refuses now, in the Anthropic format too.
    const anthropic = new Anthropic({ baseURL: url, apiKey: RATE_KEY, maxRetries: 0 });
    const more = await Promise.allSettled([0, 1, 2].map(() => anthropic.messages.create({ model: 'gpt-4', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })));
    expect(more.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of more) {
      const error = (r as PromiseRejectedResult).reason as InstanceType<typeof Anthropic.APIError>;
      expect(error).toBeInstanceOf(Anthropic.RateLimitError);
      expect((error.error as { error: { type: string } }).error.type).toBe('rate_limit_error');
      expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    }
  }, 60_000);

  it('a budget of 100 cents a day holds across replicas: two 56-cent calls (one streamed) on two replicas, then every replica refuses', async () => {
    const logged = await loggedCalls();
    await ask(openai(BUDGET_KEY), 'gpt-4-priced', false);
    await until(async () => ((await loggedCalls()) >= logged + 1 ? true : undefined), 'the first priced call in the log', 10_000);
    await ask(openai(BUDGET_KEY), 'gpt-4-priced', true);
    await until(async () => ((await loggedCalls()) >= logged + 2 ? true : undefined), 'the streamed call in the log', 10_000);
    const refusals = await Promise.allSettled([0, 1, 2].map(() => ask(openai(BUDGET_KEY), 'gpt-4-priced')));
    for (const r of refusals) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.APIError>;
      expect({ status: error.status, code: error.code }).toEqual({ status: 429, code: 'insufficient_quota' });
      expect(error.message).toContain('Client key "team-b" has spent 112 of its 100 cents for today (UTC)');
    }
    // The refused requests never reached the provider.
    expect(fake.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(2);
  }, 60_000);

  it('a replica that cannot reach Redis does not start: one line names Redis and the fix, never the URL\'s password', async () => {
    writeFileSync(
      join(work, 'no-redis.yaml'),
      'providers:\n  mock: { type: mock }\nmodels:\n  gpt-4: { provider: mock, limits: { requests_per_minute: 5 } }\nstate: { redis: "redis://:s3cret-pw@127.0.0.1:1" }\n',
    );
    const result = await runCli(['proxy', '--config', 'no-redis.yaml', '--port', '0'], { cwd: work });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('[tokenpak]'));
    expect(lines).toEqual([
      "[tokenpak] Cannot connect to Redis at 127.0.0.1:1 (state.redis): connect ECONNREFUSED 127.0.0.1:1. Start Redis there, fix the URL, or remove state: to keep the limits' counters in memory (one replica only).",
    ]);
    expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
  }, 30_000);

  it('tokenpak logs and tokenpak stats read every replica\'s calls, the refusals included', async () => {
    const total = 30 + 3 + 2 + 3;
    await until(async () => ((await loggedCalls()) >= total ? true : undefined), 'every call in the log', 10_000);
    const records = jsonLines((await runCli(['logs', '--json', '--limit', '1000', '--config', 'fleet.yaml'], { cwd: work, env })).stdout);
    expect(records).toHaveLength(total);
    const byReplica = [0, 1, 2].map((i) => records.filter((r) => String(r.id).startsWith(`r${i}-`)).length);
    expect(byReplica.reduce((a, b) => a + b)).toBe(total);
    expect(byReplica.every((n) => n >= 10)).toBe(true);
    expect(records.filter((r) => r.status === 429)).toHaveLength(20 + 3 + 3);
    expect(records.filter((r) => r.status === 200 && r.stream === true)).toHaveLength(1);
    const stats = JSON.parse((await runCli(['stats', '--json', '--config', 'fleet.yaml'], { cwd: work, env })).stdout);
    expect(stats.total).toMatchObject({ calls: total, errors: 26, costCents: 112 });
  }, 60_000);
});
