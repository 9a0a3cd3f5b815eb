/**
 * Record-then-replay set-ups: a proxy whose real providers point at the fake
 * upstreams (recording), and the same config replaying with the upstreams gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CassetteOverrides } from '../../src/cassettes/enabled.ts';
import { createCassettes } from '../../src/cassettes/setup.ts';
import type { ReplayTiming } from '../../src/cassettes/types.ts';
import { defineConfig, type Config } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startProxy, type TokenPakProxy } from '../../src/server/proxy.ts';
import { afterEach, beforeEach } from 'vitest';
import { createFakeAnthropic, createFakeOpenAI, FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, type FakeUpstream } from '../support/fake-upstream.ts';

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpak-cassettes-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The config of both real providers against the fakes, with cassettes as given. */
export function realConfig(urls: { openai: string; anthropic: string }, cassettes: ConfigInput['cassettes'], extra: Partial<ConfigInput> = {}): Config {
  return defineConfig({
    providers: {
      openai: { type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: urls.openai, retry_base_ms: 1, retry_max_ms: 50 },
      anthropic: { type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY, base_url: urls.anthropic, retry_base_ms: 1, retry_max_ms: 50 },
      ...extra.providers,
    },
    models: {
      'gpt-4': { provider: 'openai' },
      'claude-3-sonnet': { provider: 'anthropic' },
      ...extra.models,
    },
    ...(cassettes ? { cassettes } : {}),
  });
}

/** A proxy on 127.0.0.1 with the config's cassettes. */
export async function proxyWith(config: Config, options: { overrides?: CassetteOverrides; defaultTiming?: ReplayTiming } = {}): Promise<TokenPakProxy> {
  const cassettes = createCassettes(config, options);
  return startProxy({ config, port: 0, host: '127.0.0.1', onClientGone: () => {}, ...(cassettes ? { cassettes } : {}) });
}

/** Base URLs of two fakes. */
export function urlsOf(openai: FakeUpstream, anthropic: FakeUpstream) {
  return { openai: openai.baseUrl, anthropic: anthropic.baseUrl };
}

/** A chat request body in the OpenAI format. */
export function openaiBody(text: string, extra: Record<string, unknown> = {}) {
  return { model: 'gpt-4', messages: [{ role: 'user', content: text }], ...extra };
}

/** A message request body in the Anthropic format. */
export function anthropicBody(text: string, extra: Record<string, unknown> = {}) {
  return { model: 'claude-3-sonnet', max_tokens: 256, messages: [{ role: 'user', content: text }], ...extra };
}

/** POSTs JSON and returns status, headers and the body's text, with when each body chunk arrived. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const decoder = new TextDecoder();
  let text = '';
  const arrivals: Array<{ at: number; text: string }> = [];
  for await (const chunk of response.body!) {
    const piece = decoder.decode(chunk as Uint8Array, { stream: true });
    text += piece;
    arrivals.push({ at: performance.now() - started, text: piece });
  }
  return { status: response.status, headers: response.headers, text, arrivals };
}

/** The text of an SSE body's events, split at blank lines. */
export function sseEvents(text: string): string[] {
  return text.split(/(?<=\n\n)/).filter((e) => e.trim() !== '');
}

/** Fresh fake OpenAI and Anthropic APIs and a scratch folder for each test of the file. */
export function useFakes() {
  const state = {} as { openai: FakeUpstream; anthropic: FakeUpstream; scratch: ReturnType<typeof tempDir> };
  beforeEach(async () => {
    state.openai = await createFakeOpenAI();
    state.anthropic = await createFakeAnthropic();
    state.scratch = tempDir();
  });
  afterEach(async () => {
    await Promise.all([state.openai.close(), state.anthropic.close()]);
    state.scratch.remove();
  });
  return state;
}
