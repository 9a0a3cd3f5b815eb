import { openaiProviderSchema } from '../../src/config/schema.ts';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, fixtureJson, replies, type FakeReply } from '../support/fake-upstream.ts';
import { runProviderContract, type ProviderScenario } from './provider-contract.ts';

const TEXT: string = fixtureJson('openai-chat-text.json').choices[0].message.content;

const SCENARIOS: Record<ProviderScenario, FakeReply> = {
  text: replies.answer('openai-chat-text'),
  'tool-call': replies.answer('openai-chat-tool'),
  // Longer than retry_max_ms: the provider gives up at once and passes the wait on.
  'rate-limit': replies.status(429, 'openai-error-rate-limit.json', { 'retry-after': '30' }),
  'server-error': replies.status(503, 'openai-error-unavailable.json'),
  'bad-request': replies.status(400, 'openai-error-invalid.json'),
  slow: replies.hang(),
};

runProviderContract('openai (fake OpenAI upstream over HTTP)', {
  type: 'openai',
  model: 'gpt-4',
  expected: { text: TEXT, retryAfterSeconds: 30, serverErrorStatus: 503 },
  async makeProvider(scenario) {
    const fake = await createFakeOpenAI();
    fake.fallback = SCENARIOS[scenario];
    const settings = openaiProviderSchema.parse({ type: 'openai', api_key: FAKE_OPENAI_KEY, base_url: fake.baseUrl, retry_base_ms: 1, retry_max_ms: 50 });
    const provider = createOpenAIProvider('openai', settings);
    return {
      provider,
      async cleanup() {
        await fake.close();
        await provider.close?.();
      },
    };
  },
});
