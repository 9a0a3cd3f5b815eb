/**
 * API keys never reach clients, the call log, validate-config output or
 * /v1/models; a client's own credentials are never passed upstream.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY } from '../support/fake-upstream.ts';
import { CLIENT_FORMATS, send, startGateway, type Gateway } from './helpers.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/tokenpak.js');
const KEYS = [FAKE_OPENAI_KEY, FAKE_ANTHROPIC_KEY];

function expectNoKeys(text: string, where: string) {
  for (const key of KEYS) expect(text.includes(key), `${where} contains an API key:\n${text}`).toBe(false);
}

describe('keys and the running proxy', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    // The upstreams expect other keys than TokenPak has: every call fails authentication.
    gateway = await startGateway('max_retries: 0', { openai: 'sk-proj-theRealOne-0000000000', anthropic: 'sk-ant-theRealOne-0000000000' });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it.each(CLIENT_FORMATS.flatMap((format) => [{ format, stream: false }, { format, stream: true }]))(
    'an upstream auth failure reaches a $format client (stream: $stream) without the key',
    async ({ format, stream }) => {
      const result = await send(gateway, format, 'gpt-4', { stream });
      expect(result.status).toBe(401);
      const text = JSON.stringify(result.body);
      expectNoKeys(text, 'the client error');
      expect(text).toContain('Incorrect API key provided: [redacted]');
      expect(text).toContain('Check providers.openai.api_key');
      for (const [name, value] of result.headers) expectNoKeys(`${name}: ${value}`, 'a response header');
    },
  );

  it('the call log records the failures without the keys', async () => {
    await send(gateway, 'tokenpak', 'claude-3-sonnet');
    await gateway.proxy.log.flush();
    const calls = await gateway.proxy.log.query();
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)!.attempts[0]).toMatchObject({ provider: 'anthropic', status: 401, errorCode: 'provider_auth_error', errorMessage: expect.stringContaining('invalid x-api-key') });
    expectNoKeys(JSON.stringify(calls), 'the call log');
  });

  it('/v1/models lists models without keys or provider settings, in both shapes', async () => {
    for (const headers of [{}, { 'anthropic-version': '2023-06-01' }]) {
      const response = await fetch(`${gateway.proxy.url}/v1/models`, { headers });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('gpt-4');
      expectNoKeys(text, '/v1/models');
      expect(text).not.toContain('127.0.0.1');
    }
  });

  it('a client\u2019s own credentials are not passed upstream, and never echoed', async () => {
    const clientKey = 'sk-client-own-key-abcdefghijklmnop';
    gateway.openai.requests.length = 0;
    const response = await fetch(`${gateway.proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}`, 'x-api-key': clientKey, cookie: `session=${clientKey}` },
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await response.text();
    expect(text).not.toContain(clientKey);
    const upstream = gateway.openai.requests[0]!;
    expect(upstream.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
    expect(JSON.stringify(upstream.headers)).not.toContain(clientKey);
  });
});

describe('keys and validate-config', () => {
  const work = mkdtempSync(join(tmpdir(), 'tokenpak-secrets-'));
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_API_KEY: FAKE_OPENAI_KEY, ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY };
  delete env.NODE_ENV;

  const validate = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, 'validate-config', ...args], { cwd: work, env });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, output: e.stdout + e.stderr };
    }
  };

  it('prints the production config, as text and as --json, without the keys', async () => {
    for (const json of [false, true]) {
      const { code, output } = await validate([join(root, 'examples/recipe/config.prod.yaml'), ...(json ? ['--json'] : [])]);
      expect(code).toBe(0);
      expect(output).toContain(json ? '"valid": true' : '✓ Config valid');
      expectNoKeys(output, `validate-config${json ? ' --json' : ''}`);
    }
  });

  it('reports an invalid config with a literal key in it without printing the key', async () => {
    writeFileSync(
      join(work, 'bad.yaml'),
      `providers:\n  openai:\n    type: openai\n    api_key: ${FAKE_OPENAI_KEY}\n    timeout: 5\n    max_retries: -1\n  anthropic:\n    type: anthropic\n    api_key: "${FAKE_ANTHROPIC_KEY}"\n    enabled: maybe\nmodels:\n  gpt-4: {provider: openai}\n`,
    );
    for (const json of [false, true]) {
      const { code, output } = await validate(['bad.yaml', ...(json ? ['--json'] : [])]);
      expect(code).toBe(1);
      expect(output).toContain('timeout');
      expect(output).toContain('max_retries');
      expectNoKeys(output, 'validate-config errors');
    }
  });
});
