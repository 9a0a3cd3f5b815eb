/**
 * What the HTTP-backed providers share: their injectable options, and their
 * config settings turned into the upstream client's terms.
 */
import type { Dispatcher } from 'undici';
import { TokenPakError } from '../../errors.ts';
import type { AnthropicProviderSettings, OpenAIProviderSettings } from '../../config/schema.ts';
import type { RetryPolicy } from './retry.ts';
import type { UpstreamTimeouts } from './upstream.ts';

/** Options of `createOpenAIProvider` and `createAnthropicProvider` beyond the config settings. */
export interface HttpProviderOptions {
  /** An undici dispatcher to send requests through (default: a keep-alive Pool of the provider's own). */
  dispatcher?: Dispatcher;
  /**
   * Environment read for the default base URL (`OPENAI_BASE_URL`,
   * `ANTHROPIC_BASE_URL`, as the official SDKs read them); default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
}

type HttpSettings = OpenAIProviderSettings | AnthropicProviderSettings;

export function timeoutsOf(settings: HttpSettings): UpstreamTimeouts {
  return {
    connectMs: settings.connect_timeout_ms,
    firstByteMs: settings.first_byte_timeout_ms,
    idleMs: settings.idle_timeout_ms,
    totalMs: settings.timeout_ms,
  };
}

export function retryOf(settings: HttpSettings): RetryPolicy {
  return { maxRetries: settings.max_retries, baseMs: settings.retry_base_ms, maxMs: settings.retry_max_ms };
}

/** `base_url`, else the SDKs' environment variable, else the public API. */
export function baseUrlOf(name: string, settings: HttpSettings, variable: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  if (settings.base_url !== undefined) return settings.base_url;
  const fromEnv = env[variable]?.trim();
  if (!fromEnv) return fallback;
  let url: URL | undefined;
  try {
    url = new URL(fromEnv);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TokenPakError(
      'config_invalid',
      `Provider "${name}" takes its base URL from ${variable}, which is ${JSON.stringify(fromEnv)}: not an absolute http(s) URL. Set it to one (for example ${fallback}), unset it, or set providers.${name}.base_url.`,
    );
  }
  return fromEnv;
}
