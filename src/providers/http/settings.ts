/**
 * What the HTTP-backed providers share: their injectable options, and their
 * config settings turned into the upstream client's terms.
 */
import type { Dispatcher } from 'undici';
import { TokenPakError } from '../../errors.ts';
import type { AnthropicProviderSettings, OpenAIProviderSettings } from '../../config/schema.ts';
import type { RetryPolicy } from './retry.ts';
import type { UpstreamOptions, UpstreamTimeouts } from './upstream.ts';

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

function timeoutsOf(settings: HttpSettings): UpstreamTimeouts {
  return {
    connectMs: settings.connect_timeout_ms,
    firstByteMs: settings.first_byte_timeout_ms,
    idleMs: settings.idle_timeout_ms,
    totalMs: settings.timeout_ms,
  };
}

function retryOf(settings: HttpSettings): RetryPolicy {
  return { maxRetries: settings.max_retries, baseMs: settings.retry_base_ms, maxMs: settings.retry_max_ms };
}

/**
 * The upstream client's options that every HTTP provider takes from its settings alike: the API
 * key as a secret to keep out of messages, timeouts, retries, the answer size limit and an
 * injected dispatcher. Each provider adds its label, base URL, headers and error reader.
 */
export function upstreamSettingsOf(
  settings: HttpSettings,
  options: HttpProviderOptions,
): Pick<UpstreamOptions, 'secrets' | 'timeouts' | 'retry' | 'maxResponseBytes' | 'dispatcher'> {
  return {
    secrets: settings.api_key ? [settings.api_key] : [],
    timeouts: timeoutsOf(settings),
    retry: retryOf(settings),
    maxResponseBytes: settings.max_response_bytes,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  };
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
