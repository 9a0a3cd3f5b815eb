import { mockProviderSchema, type AnswerSpec } from '../../src/config/schema.ts';
import { createMockProvider } from '../../src/providers/mock/mock-provider.ts';
import { CONTRACT_TEXT, CONTRACT_TOOL_CALL, runProviderContract, type ProviderScenario } from './provider-contract.ts';

const MODEL = 'contract-model';

function mockFor(scenario: ProviderScenario) {
  const answer = (value: AnswerSpec | Record<string, unknown>) => ({ responses: { [MODEL]: { default: value } } });
  const settings: Record<ProviderScenario, Record<string, unknown>> = {
    text: answer(CONTRACT_TEXT),
    'tool-call': answer({ tool_call: { name: CONTRACT_TOOL_CALL.name, arguments: CONTRACT_TOOL_CALL.arguments } }),
    'rate-limit': { ...answer(CONTRACT_TEXT), failure_rate: 1, failure: 429 },
    'server-error': { ...answer(CONTRACT_TEXT), failure_rate: 1, failure: 503 },
    'bad-request': answer({ error: { status: 400, message: 'Mock provider refused the request (HTTP 400).' } }),
    // A minute: the abort checks finish in time only if the abort works.
    slow: { ...answer(CONTRACT_TEXT), latency_ms: 60_000 },
  };
  return createMockProvider('mock', mockProviderSchema.parse({ type: 'mock', ...settings[scenario] }));
}

runProviderContract('mock', {
  type: 'mock',
  model: MODEL,
  // The mock's injected failures ask the client to retry at once (retry_after: immediate, the default).
  expected: { retryAfterSeconds: 0, serverErrorStatus: 503 },
  makeProvider: (scenario) => ({ provider: mockFor(scenario) }),
  skip: { 'embed-error': 'mock embeddings are a pure function of the input: injected failures apply to chat calls only' },
});
