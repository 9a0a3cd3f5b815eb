import { anthropicProviderSchema } from '../../src/config/schema.ts';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.ts';
import { createFakeAnthropic, FAKE_ANTHROPIC_KEY, fixtureJson, replies, type FakeReply } from '../support/fake-upstream.ts';
import { runProviderContract, type ProviderScenario } from './provider-contract.ts';

const TEXT: string = fixtureJson('anthropic-messages-text.json').content[0].text;

const SCENARIOS: Record<ProviderScenario, FakeReply> = {
  text: replies.answer('anthropic-messages-text'),
  'tool-call': replies.answer('anthropic-messages-tool'),
  // Longer than retry_max_ms: the provider gives up at once and passes the wait on.
  'rate-limit': replies.status(429, 'anthropic-error-rate-limit.json', { 'retry-after': '30' }),
  'server-error': replies.status(529, 'anthropic-error-overloaded.json'),
  'bad-request': replies.status(400, 'anthropic-error-invalid.json'),
  slow: replies.hang(),
};

runProviderContract('anthropic (fake Anthropic upstream over HTTP)', {
  type: 'anthropic',
  model: 'claude-3-sonnet',
  expected: { text: TEXT, retryAfterSeconds: 30, serverErrorStatus: 529, embeddings: 'unsupported' },
  async makeProvider(scenario) {
    const fake = await createFakeAnthropic();
    fake.fallback = SCENARIOS[scenario];
    const settings = anthropicProviderSchema.parse({ type: 'anthropic', api_key: FAKE_ANTHROPIC_KEY, base_url: fake.baseUrl, retry_base_ms: 1, retry_max_ms: 50 });
    const provider = createAnthropicProvider('anthropic', settings);
    return {
      provider,
      async cleanup() {
        await fake.close();
        await provider.close?.();
      },
    };
  },
});
