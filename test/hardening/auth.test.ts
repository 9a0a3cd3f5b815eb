/**
 * Issue 11, "anyone can spend the keys": client keys (`server.auth.keys`),
 * checked for the official SDKs' own ways of sending an API key, per-key
 * models, the refusal to serve real providers to the network without keys,
 * and the banner naming the address really bound.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, TokenPakError } from '../../src/errors.ts';
import { startProxy, type TokenPakProxy } from '../../src/server/proxy.ts';
import { runCli, startProxy as startCli, tempDir, useCliCleanup } from '../cli-logs/helpers.ts';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

useCliCleanup();

const FULL_KEY = 'tpk-full-9f2c41d0e8b7a6c5d4e3f2a1';
const LIMITED_KEY = 'tpk-limited-0a1b2c3d4e5f60718293';
const ENV = { TOKENPAK_FULL_KEY: FULL_KEY, TOKENPAK_LIMITED_KEY: LIMITED_KEY };

const MOCK = `providers:
  mock:
    type: mock
    responses:
      gpt-4: {default: "full answer"}
      cheap: {default: "cheap answer"}
models:
  gpt-4: {provider: mock}
  cheap: {provider: mock}
`;
const WITH_KEYS = `${MOCK}server:
  auth:
    keys:
      - \${TOKENPAK_FULL_KEY}
      - key: \${TOKENPAK_LIMITED_KEY}
        models: [cheap]
`;

const running: TokenPakProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close({ graceMs: 0 })));
});

async function serve(yaml: string, host = '127.0.0.1') {
  const proxy = await startProxy({ config: parseConfig(yaml, { env: ENV }), port: 0, host });
  running.push(proxy);
  return proxy;
}

const openai = (proxy: TokenPakProxy, apiKey: string) => new OpenAI({ apiKey, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
const anthropic = (proxy: TokenPakProxy, apiKey: string) => new Anthropic({ apiKey, baseURL: proxy.url, maxRetries: 0 });
const chat = (client: OpenAI, model = 'gpt-4') => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const message = (client: Anthropic, model = 'gpt-4') => client.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

describe('client keys', () => {
  it('the OpenAI SDK works with a TokenPak key as its API key (Authorization: Bearer), and fails with 401 otherwise', async () => {
    const proxy = await serve(WITH_KEYS);
    const answer = await chat(openai(proxy, FULL_KEY));
    expect(answer.choices[0]!.message.content).toBe('full answer');

    for (const wrong of ['sk-not-a-tokenpak-key-000000', FULL_KEY.slice(0, -1), `${FULL_KEY}x`]) {
      const error = await chat(openai(proxy, wrong)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
      expect((error as Error).message).toContain('none of server.auth.keys');
      expect((error as Error).message).not.toContain(wrong);
    }
    expect(proxy.providers.get('mock')).toBeDefined();
    const calls = await proxy.log.query();
    expect(calls).toHaveLength(1);
  });

  it('the Anthropic SDK works with a TokenPak key as its API key (x-api-key), and fails with 401 otherwise', async () => {
    const proxy = await serve(WITH_KEYS);
    const answer = await message(anthropic(proxy, FULL_KEY));
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'full answer' });
    const error = await message(anthropic(proxy, 'sk-ant-wrong-key-0000000000')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as { error: unknown }).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('a request with no key is a 401 in its own wire format, naming both headers; /healthz needs none', async () => {
    const proxy = await serve(WITH_KEYS);
    const response = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('unauthorized');
    expect(body.error.message).toContain('"Authorization: Bearer KEY" or "x-api-key: KEY"');
    expect((await fetch(`${proxy.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${proxy.url}/healthz`)).status).toBe(200);
    expect(await proxy.log.query()).toHaveLength(0);
  });

  it('a key limited to some models gets 403 for the others, and /v1/models lists only its own', async () => {
    const proxy = await serve(WITH_KEYS);
    const limited = openai(proxy, LIMITED_KEY);
    expect((await chat(limited, 'cheap')).choices[0]!.message.content).toBe('cheap answer');
    const error = await chat(limited, 'gpt-4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as Error).message).toContain('may not use model "gpt-4". It may use: cheap');
    const denied = await message(anthropic(proxy, LIMITED_KEY), 'gpt-4').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);

    expect((await limited.models.list()).data.map((m) => m.id)).toEqual(['cheap']);
    expect((await openai(proxy, FULL_KEY).models.list()).data.map((m) => m.id)).toEqual(['gpt-4', 'cheap']);
    expect((await fetch(`${proxy.url}/v1/models/gpt-4`, { headers: { authorization: `Bearer ${LIMITED_KEY}` } })).status).toBe(403);
    // Only the allowed call reached the provider (refusals are logged as calls with no attempt).
    expect((await proxy.log.query()).filter((c) => c.attempts.length > 0).map((c) => c.model)).toEqual(['cheap']);
  });

  it('without server.auth, clients need no key (as before)', async () => {
    const proxy = await serve(MOCK);
    expect((await chat(openai(proxy, 'anything'))).choices[0]!.message.content).toBe('full answer');
  });
});

describe('client key config', () => {
  const load = (yaml: string) => () => parseConfig(yaml, { env: ENV });

  it('rejects short keys, duplicate keys and unknown models, without printing a key', () => {
    const short = `${MOCK}server:\n  auth:\n    keys: ["\${SHORT}"]\n`;
    expect(() => parseConfig(short, { env: { SHORT: 'tiny-key' } })).toThrow(/server\.auth\.keys\[0\]: .*too short for a key: use 16 characters or more/);
    expect(() => parseConfig(short, { env: { SHORT: 'tiny-key' } })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('tiny-key') }));

    const duplicate = `${MOCK}server:\n  auth:\n    keys: ["\${TOKENPAK_FULL_KEY}", "\${TOKENPAK_FULL_KEY}"]\n`;
    expect(load(duplicate)).toThrow(/server\.auth\.keys\[1\]: is the same key as an earlier entry/);
    expect(load(duplicate)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(FULL_KEY) }));

    const unknownModel = `${MOCK}server:\n  auth:\n    keys:\n      - key: \${TOKENPAK_FULL_KEY}\n        models: [gpt4]\n`;
    expect(load(unknownModel)).toThrow(/names unknown model "gpt4"\. Did you mean "gpt-4"\?/);
    expect(load(unknownModel)).toThrow(ConfigError);
  });
});

const REAL_PROVIDER = `providers:
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
models:
  gpt-4: {provider: openai}
`;

describe('binding beyond loopback', () => {
  it('is refused with a real provider and no client keys, with a message that says why and what to do', async () => {
    const config = parseConfig(REAL_PROVIDER, { env: { OPENAI_API_KEY: 'sk-proj-bindTest000000000000' } });
    const error = await startProxy({ config, port: 0, host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(TokenPakError.is(error)).toBe(true);
    expect((error as Error).message).toBe(
      '[tokenpak] Refusing to listen on 0.0.0.0: the config enables real providers (openai) and server.auth has no keys, so anyone who can reach this port could spend their API keys. ' +
        'Add client keys (server.auth.keys, for example keys: ["${TOKENPAK_API_KEY}"]) and give clients one as their API key, or listen on 127.0.0.1.',
    );
  });

  it('is allowed with client keys, or with only mock providers; the proxy reports the address it bound', async () => {
    const keyed = await serve(`${REAL_PROVIDER}server:\n  auth:\n    keys: ["\${TOKENPAK_FULL_KEY}"]\n`.replace('${OPENAI_API_KEY}', 'sk-proj-bindTest000000000000'), '0.0.0.0');
    expect(keyed.listenUrl).toBe(`http://0.0.0.0:${keyed.port}`);
    expect(keyed.url).toBe(`http://127.0.0.1:${keyed.port}`);
    const mockOnly = await serve(MOCK, '0.0.0.0');
    expect(mockOnly.listenUrl).toBe(`http://0.0.0.0:${mockOnly.port}`);
  });

  it('tokenpak proxy --host 0.0.0.0: the banner shows 0.0.0.0; with a real provider and no keys it exits 1 with one line', async () => {
    const cwd = tempDir('bind');
    writeFileSync(join(cwd, 'mock.yaml'), MOCK);
    writeFileSync(join(cwd, 'real.yaml'), REAL_PROVIDER);
    const proxy = await startCli(['--config', 'mock.yaml', '--port', '0', '--host', '0.0.0.0'], { cwd });
    expect(proxy.output()).toMatch(/^TokenPak proxy listening on http:\/\/0\.0\.0\.0:\d+ \(every interface; from this machine: http:\/\/127\.0\.0\.1:\d+\)/m);
    expect(proxy.output()).toContain('auth: no client keys (server.auth)');
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);

    mkdirSync(join(cwd, 'refused'));
    const refused = await runCli(['proxy', '--config', '../real.yaml', '--port', '0', '--host', '0.0.0.0'], { cwd: join(cwd, 'refused'), env: { OPENAI_API_KEY: 'sk-proj-cliBindTest0000000000' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^\[tokenpak\] Refusing to listen on 0\.0\.0\.0: .* or listen on 127\.0\.0\.1\.$/)]);
    expect(refused.stderr).not.toContain('sk-proj-cliBindTest');
    // Refused before the call log was opened: nothing left behind.
    expect(existsSync(join(cwd, 'refused', '.tokenpak'))).toBe(false);
  });
});
