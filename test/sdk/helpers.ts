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

type ConfigInput = Parameters<typeof defineConfig>[0];
type MockAnswers = Record<string, Record<string, unknown>>;

export interface CannedConfigOptions {
  /**
   * What a prompt with "weather" gets from `gpt-4` and `claude-3-sonnet`: `tool-call` calls
   * `get_weather` on every such call (the loop ends when the tool result comes back and the
   * default answer is given); `tool-call-then-answer` calls it first and answers
   * {@link WEATHER_ANSWER} on the next call of the conversation.
   */
  weather: 'tool-call' | 'tool-call-then-answer';
  /** More models routed to the mock, with no canned entry (the mock generates their answers). */
  models?: string[];
  /** Added to the mock's canned answers, per model (merged into gpt-4's and claude-3-sonnet's entries). */
  answers?: MockAnswers;
  /** More providers and routes to them. */
  providers?: ConfigInput['providers'];
  routes?: ConfigInput['models'];
  server?: ConfigInput['server'];
}

/**
 * The config a user keeps while building against the mock: `gpt-4` and `claude-3-sonnet` with
 * the recipe's canned `default:` texts ({@link GPT4_DEFAULT}, {@link CLAUDE_DEFAULT}) and a
 * "weather" pattern (see {@link CannedConfigOptions.weather}), no latency.
 */
export function cannedConfig(options: CannedConfigOptions): ReturnType<typeof defineConfig> {
  const toolCall = { tool_call: { name: 'get_weather', arguments: WEATHER_ARGS } };
  const weather = options.weather === 'tool-call' ? toolCall : [toolCall, WEATHER_ANSWER];
  const { 'gpt-4': gpt4 = {}, 'claude-3-sonnet': claude = {}, ...otherAnswers } = options.answers ?? {};
  return defineConfig({
    providers: {
      mock: {
        type: 'mock',
        latency_ms: 0,
        responses: {
          'gpt-4': { default: GPT4_DEFAULT, patterns: { weather }, ...gpt4 },
          'claude-3-sonnet': { default: CLAUDE_DEFAULT, patterns: { weather }, ...claude },
          ...otherAnswers,
        },
      },
      ...options.providers,
    },
    models: {
      'gpt-4': { provider: 'mock' },
      'claude-3-sonnet': { provider: 'mock' },
      ...Object.fromEntries((options.models ?? []).map((model) => [model, { provider: 'mock' }])),
      ...options.routes,
    },
    ...(options.server ? { server: options.server } : {}),
  });
}

/**
 * `gpt-4` and `claude-3-sonnet` canned, where a prompt with "weather" first calls `get_weather`,
 * then, on the next call, answers in text; `gpt-4o-mini` has no canned entry, so the mock
 * generates its answers (which honour JSON modes and forced tool choices).
 */
export async function startSdkProxy(): Promise<SdkProxy> {
  return listen(cannedConfig({ weather: 'tool-call-then-answer', models: ['gpt-4o-mini'] }));
}

/** Embedding model of {@link startCannedProxy}. */
export const EMBEDDING_MODEL = 'text-embedding-3-small';

/**
 * Every chat model with one plain `tool_call` pattern (no answer lists), so each client
 * library's tool loop, structured output and conversation helpers run against canned answers
 * as written; plus {@link EMBEDDING_MODEL}.
 */
export async function startCannedProxy(): Promise<SdkProxy> {
  return listen(cannedConfig({ weather: 'tool-call', models: [EMBEDDING_MODEL] }));
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
