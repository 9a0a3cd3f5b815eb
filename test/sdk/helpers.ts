/**
 * A TokenPak proxy on 127.0.0.1 (port 0) with a mock provider, imported from
 * the built package as users import it, for the official SDKs to talk to.
 */
import { defineConfig, startProxy, type CallRecord, type MockProvider, type TokenPakProxy } from 'tokenpak';

export const WEATHER_ARGS = { city: 'Paris', unit: 'celsius' };
export const WEATHER_ANSWER = 'It is 18 degrees and sunny in Paris.';
export const GPT4_DEFAULT = 'Mock GPT-4 response: [mock output for testing]';
export const CLAUDE_DEFAULT = 'Mock Claude response: [test output]';

/** JSON Schema of the weather tool's arguments, shared by every SDK's tool definition. */
export const WEATHER_PARAMETERS = {
  type: 'object' as const,
  properties: { city: { type: 'string' as const }, unit: { type: 'string' as const, enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};

export interface SdkProxy {
  proxy: TokenPakProxy;
  mock: MockProvider;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Calls in the call log, oldest first. */
  calls(): Promise<CallRecord[]>;
  close(): Promise<void>;
}

/**
 * Models: `gpt-4` and `claude-3-sonnet` have canned answers (the recipe's),
 * where a prompt with "weather" first calls `get_weather`, then, on the next
 * call, answers in text; `gpt-4o-mini` has no canned entry, so the mock
 * generates its answers (which honour JSON modes and forced tool choices).
 */
export async function startSdkProxy(): Promise<SdkProxy> {
  const weather = [{ tool_call: { name: 'get_weather', arguments: WEATHER_ARGS } }, WEATHER_ANSWER];
  const config = defineConfig({
    providers: {
      mock: {
        type: 'mock',
        latency_ms: 0,
        responses: {
          'gpt-4': { default: GPT4_DEFAULT, patterns: { weather } },
          'claude-3-sonnet': { default: CLAUDE_DEFAULT, patterns: { weather } },
        },
      },
    },
    models: {
      'gpt-4': { provider: 'mock' },
      'claude-3-sonnet': { provider: 'mock' },
      'gpt-4o-mini': { provider: 'mock' },
    },
  });
  return listen(config);
}

/** Embedding model of {@link startCannedProxy}. */
export const EMBEDDING_MODEL = 'text-embedding-3-small';

/**
 * The config a user keeps while building an agent: every chat model has the
 * recipe's canned `default:` text and one plain `tool_call` pattern (no answer
 * lists), so each client library's tool loop, structured output and
 * conversation helpers run against canned answers as written. A prompt with
 * "weather" calls `get_weather`; a loop ends when the tool result comes back.
 */
export async function startCannedProxy(): Promise<SdkProxy> {
  const weather = { tool_call: { name: 'get_weather', arguments: WEATHER_ARGS } };
  const config = defineConfig({
    providers: {
      mock: {
        type: 'mock',
        latency_ms: 0,
        responses: {
          'gpt-4': { default: GPT4_DEFAULT, patterns: { weather } },
          'claude-3-sonnet': { default: CLAUDE_DEFAULT, patterns: { weather } },
        },
      },
    },
    models: {
      'gpt-4': { provider: 'mock' },
      'claude-3-sonnet': { provider: 'mock' },
      [EMBEDDING_MODEL]: { provider: 'mock' },
    },
  });
  return listen(config);
}

async function listen(config: ReturnType<typeof defineConfig>): Promise<SdkProxy> {
  const proxy = await startProxy({ config, port: 0, host: '127.0.0.1' });
  return {
    proxy,
    mock: proxy.providers.get('mock') as MockProvider,
    url: proxy.url,
    calls: () => proxy.log.query({}),
    close: () => proxy.close({ graceMs: 100 }),
  };
}
