/**
 * Real providers pointed at the fake upstreams, with settings parsed by the
 * config schema (so defaults are the ones users get).
 */
import type { ChatRequest } from '../../src/canonical/types.ts';
import { anthropicProviderSchema, openaiProviderSchema } from '../../src/config/schema.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.ts';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.ts';
import { FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, type FakeUpstream } from './fake-upstream.ts';

/** An OpenAI provider against `fake`; backoff is shortened so that retries are quick. */
export function openaiAgainst(fake: FakeUpstream, settings: Record<string, unknown> = {}) {
  return createOpenAIProvider(
    'openai',
    openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: fake.baseUrl, retry_base_ms: 5, retry_max_ms: 2_000, ...settings }),
  );
}

/** An Anthropic provider against `fake`; backoff is shortened so that retries are quick. */
export function anthropicAgainst(fake: FakeUpstream, settings: Record<string, unknown> = {}) {
  return createAnthropicProvider(
    'anthropic',
    anthropicProviderSchema.parse({ type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY, base_url: fake.baseUrl, retry_base_ms: 5, retry_max_ms: 2_000, ...settings }),
  );
}

/** A one-message request. */
export function ask(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'gpt-4', messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra };
}
