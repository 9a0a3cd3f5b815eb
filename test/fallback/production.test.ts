/**
 * The production path through the built `tokenpak` CLI: the guard that
 * refuses a config which can reach a mock, and recipe step 7, the recipe's
 * production config answering a priced call from a fake OpenAI reached
 * through OPENAI_BASE_URL (the recipe file itself names no base_url).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeAnthropic, createFakeOpenAI, FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, fixtureJson, type FakeUpstream } from '../support/fake-upstream.ts';
import { watchProxy } from '../support/proxy-process.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/tokenpak.js');
const work = mkdtempSync(join(tmpdir(), 'tokenpak-prod-'));
cpSync(join(root, 'examples/recipe/config.yaml'), join(work, 'config.yaml'));
cpSync(join(root, 'examples/recipe/config.prod.yaml'), join(work, 'config.prod.yaml'));

const children: ChildProcess[] = [];
// Nothing from the developer's shell may point the proxy elsewhere.
const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const key of ['NODE_ENV', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'TOKENPAK_CONFIG']) delete env[key];
  return env;
};

/** Runs `tokenpak proxy` until it listens (resolves with its URL) or exits (rejects with its output). */
function proxy(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, 'proxy', '--port', '0', ...args], { cwd: work, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return { child, ...watchProxy(child) };
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('Build first: npm run build (npm test does it).');
});
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('production guard', () => {
  it('tokenpak proxy --env production refuses the dev config and names each model that can reach a mock', async () => {
    const started = proxy(['--config', 'config.yaml', '--env', 'production']);
    expect(await started.exited).toBe(1);
    const output = started.output();
    expect(output).toContain('Refusing to start in production');
    for (const model of ['gpt-4', 'gpt-3.5-turbo', 'claude-3-sonnet']) expect(output).toContain(`models.${model} can reach mock provider "mock"`);
    expect(output).not.toContain('listening on');
  });

  it('NODE_ENV=production turns the guard on without the flag', async () => {
    const started = proxy(['--config', 'config.yaml'], { NODE_ENV: 'production' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('Refusing to start in production');
  });

  it('refuses a config that reaches a mock only as a fallback, and names it', async () => {
    writeFileSync(
      join(work, 'fallback-mock.yaml'),
      `providers:\n  openai: {type: openai, api_key: k, base_url: "http://127.0.0.1:9/v1"}\n  mock: {type: mock, latency_ms: 200}\nmodels:\n  gpt-4: {provider: openai}\n  gpt-4o: {provider: openai, fallback_provider: mock}\n`,
    );
    const started = proxy(['--config', 'fallback-mock.yaml', '--env', 'production']);
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('models.gpt-4o can reach mock provider "mock"');
    expect(started.output()).not.toContain('models.gpt-4 can');
  });

  it('--env development overrides NODE_ENV=production', async () => {
    const started = proxy(['--config', 'config.yaml', '--env', 'development'], { NODE_ENV: 'production' });
    await started.listening;
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });
});

describe('recipe step 7: the production config makes real, priced calls', () => {
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;
  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([createFakeOpenAI(), createFakeAnthropic()]);
  });
  afterAll(async () => {
    await Promise.all([openai.close(), anthropic.close()]);
  });

  it('the recipe request returns a non-zero cost_cents that matches the price table, and the call log keeps it', async () => {
    const env = {
      NODE_ENV: 'production',
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
    };
    const started = proxy(['--config', 'config.prod.yaml'], env);
    const url = await started.listening;

    // The recipe's request, as its curl sends it: no Content-Type.
    const response = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      body: new Blob(['{"model": "gpt-4", "messages": [{"role": "user", "content": "Debug my code"}]}']),
    });
    const body = await response.json();
    // gpt-4 costs 3000 / 6000 cents per million tokens; the upstream reported 26 in, 15 out.
    const expected = (26 * 3000 + 15 * 6000) / 1e6;
    expect(expected).toBe(0.168);
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      model: 'gpt-4',
      provider: 'openai',
      content: fixtureJson('openai-chat-text.json').choices[0].message.content,
      usage: { input_tokens: 26, output_tokens: 15 },
      cost_cents: expected,
      attempts: [{ provider: 'openai', model: 'gpt-4', outcome: 'ok', cost_cents: expected }],
    });
    expect(response.headers.get('x-tokenpak-cost-cents')).toBe('0.168');
    expect(openai.requests).toHaveLength(1);
    expect(openai.requests[0]!.body).toMatchObject({ model: 'gpt-4', messages: [{ role: 'user', content: 'Debug my code' }] });
    expect(openai.requests[0]!.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
    expect(anthropic.requests).toHaveLength(0);

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    expect(started.output()).not.toContain(FAKE_OPENAI_KEY);

    // `tokenpak logs` reads the same call back, priced.
    const { stdout } = await run(process.execPath, [bin, 'logs', '--provider', 'openai', '--json', '--config', 'config.prod.yaml'], { cwd: work, env: { ...baseEnv(), ...env } });
    const calls = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ model: 'gpt-4', provider: 'openai', costCents: expected, outcome: 'ok' });
    expect(stdout).not.toContain(FAKE_OPENAI_KEY);

    // The key is nowhere in the stored call log either.
    const dir = join(work, '.tokenpak');
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file));
      expect(bytes.includes(FAKE_OPENAI_KEY), file).toBe(false);
      expect(bytes.includes(FAKE_ANTHROPIC_KEY), file).toBe(false);
    }
  });
});
