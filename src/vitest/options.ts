/**
 * Options of the Vitest plugin, and how a config is found and prepared for a
 * test: which file, which providers are simulated, and the guard that keeps
 * tests from reaching a paid API by accident.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { defineConfig, parseConfig, type Config } from '../config/load.ts';
import type { ConfigInput, MockProviderSettings, ProviderSettings } from '../config/schema.ts';
import { ConfigError, TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { ANTHROPIC_BASE_URL } from '../formats/anthropic-messages.ts';
import { OPENAI_BASE_URL } from '../formats/openai-chat.ts';

/** A config: the path of a YAML file, an inline config object, or a config already loaded. */
export type ConfigOption = string | ConfigInput | Config;

/** Mock settings of a simulated provider (`type` is implied). */
export type SimulatedProviderSettings = Omit<Extract<ConfigInput['providers'][string], { type: 'mock' }>, 'type' | 'enabled' | 'base_url' | 'headers'>;

/** What a test (or a whole test file) runs against. */
export interface ScopeOptions {
  /**
   * The config. Default: the file named by `TOKENPAK_CONFIG`, else
   * `tokenpak.config.yaml` in the project root.
   */
  config?: ConfigOption;
  /**
   * Answer every enabled real provider (`type: openai` or `anthropic`) with a
   * local stand-in that speaks that provider's wire format, so that production
   * routing and the real provider code run without a network. `true` simulates
   * all of them with default mock settings; an object gives mock settings per
   * provider name (patterns, latency, failures).
   */
  simulateProviders?: boolean | Record<string, SimulatedProviderSettings>;
  /**
   * Let enabled real providers call their real APIs. Off by default: a test
   * config that could reach a paid API is rejected with an explanation.
   */
  allowRealProviders?: boolean;
}

/** What to do with a call to an LLM API host that TokenPak does not answer. */
export type UnhandledHostPolicy = 'bypass' | 'warn' | 'error';

/** Options of `tokenpak/vitest/setup` (pass them with the `tokenpak()` Vite plugin). */
export interface TokenPakVitestOptions extends ScopeOptions {
  /**
   * Intercept calls to `https://api.openai.com` and `https://api.anthropic.com`
   * made in the test process (hard-coded hosts) with msw, and answer them from
   * the test's TokenPak. Default: on when msw is installed.
   */
  interceptHosts?: boolean;
  /**
   * Calls to other known LLM API hosts (Mistral, Gemini, Groq, …) while
   * intercepting: `error` (default) answers 403 with an explanation, `warn`
   * prints a warning and lets them through, `bypass` lets them through.
   */
  unhandledLLMHosts?: UnhandledHostPolicy;
  /** More hosts to treat as LLM APIs, as host names (`llm.example.com`) or `/regex/` strings. */
  llmHosts?: string[];
  /**
   * Answer `fetch` calls to the file's TokenPak in the test's process, without
   * the loopback socket (default true): as fast as a stub, and each call is
   * attributed to the test that made it, concurrent tests included. Set false
   * to send them over the socket.
   */
  answerInProcess?: boolean;
  /** Append the TokenPak transcript to the error of a failing test (default true). */
  transcriptOnFailure?: boolean;
  /**
   * Where `tokenpak.config.yaml` is looked for and relative config paths
   * start. Default: the Vitest root with the `tokenpak()` plugin; otherwise the
   * nearest directory above the test file that has a package.json.
   */
  root?: string;
}

/** The project root of a test file: the nearest directory above it with a package.json. */
export function projectRootOf(testFile: string | undefined, fallback: string): string {
  if (!testFile) return fallback;
  for (let dir = dirname(testFile); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return fallback;
  }
}

const DEFAULT_FILES = ['tokenpak.config.yaml', 'tokenpak.config.yml'];

function isResolvedConfig(value: object): value is Config {
  const models = (value as { models?: Record<string, { chain?: unknown }> }).models;
  return typeof (value as { source?: unknown }).source === 'string' && models !== undefined && Object.values(models).every((m) => Array.isArray(m?.chain));
}

/** Loads config files synchronously, once per path and modification time. */
export function createConfigLoader(cwd: string) {
  const cache = new Map<string, { mtimeMs: number; config: Config }>();

  const loadFile = (path: string, via: string): Config => {
    const file = isAbsolute(path) ? path : resolve(cwd, path);
    let mtimeMs: number;
    let text: string;
    try {
      mtimeMs = statSync(file).mtimeMs;
      const cached = cache.get(file);
      if (cached && cached.mtimeMs === mtimeMs) return cached.config;
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : String(error);
      throw new ConfigError(file, [{ path: '', message: `cannot read the config file named by ${via}: ${reason}. Check the path (relative paths start at ${cwd}).` }], 'config_not_found');
    }
    const display = relative(cwd, file) || file;
    const config = parseConfig(text, { file: display.startsWith('..') ? file : display });
    cache.set(file, { mtimeMs, config });
    return config;
  };

  return {
    /** The config an option names, or the default one. */
    load(option: ConfigOption | undefined, via = 'the config option'): Config {
      if (option === undefined) {
        const fromEnv = process.env.TOKENPAK_CONFIG;
        if (fromEnv) return loadFile(fromEnv, 'TOKENPAK_CONFIG');
        for (const name of DEFAULT_FILES) {
          const file = resolve(cwd, name);
          if (existsSync(file)) return loadFile(file, name);
        }
        throw new TokenPakError(
          'config_not_found',
          `The Vitest plugin found no config: there is no tokenpak.config.yaml in ${cwd} and TOKENPAK_CONFIG is not set. ` +
            'Create tokenpak.config.yaml (see "Testing with Vitest" in the TokenPak README), set TOKENPAK_CONFIG=path/to/config.yaml, or pass the config inline: tokenpak({ config: { providers: …, models: … } }).',
        );
      }
      if (typeof option === 'string') return loadFile(option, via);
      if (isResolvedConfig(option)) return option;
      return defineConfig(option as ConfigInput);
    },
  };
}

export type ConfigLoader = ReturnType<typeof createConfigLoader>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function isLoopback(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Which enabled providers of a config get a simulated upstream, with their mock settings. */
export function simulatedProviders(config: Config, options: ScopeOptions): Map<string, MockProviderSettings> {
  const simulated = new Map<string, MockProviderSettings>();
  const wanted = options.simulateProviders;
  if (!wanted) return simulated;
  const names = Object.entries(config.providers)
    .filter(([, settings]) => settings.enabled && settings.type !== 'mock')
    .map(([name]) => name);
  if (typeof wanted === 'object') {
    for (const name of Object.keys(wanted)) {
      if (!names.includes(name)) {
        throw new TokenPakError(
          'config_invalid',
          `simulateProviders names "${name}", which is not an enabled real provider in ${config.source}. Simulated providers can be: ${names.join(', ') || '(none: the config enables no openai or anthropic provider)'}.`,
        );
      }
    }
  }
  for (const name of names) {
    const settings = typeof wanted === 'object' ? (wanted[name] ?? {}) : {};
    // Through the config reader, so patterns keep their order and errors read as config errors do.
    const parsed = defineConfig({ providers: { [name]: { ...settings, type: 'mock' } }, models: { [name]: { provider: name } } });
    simulated.set(name, parsed.providers[name] as MockProviderSettings);
  }
  return simulated;
}

/**
 * The config a scope runs: simulated providers pointed at their stand-ins,
 * and every other enabled real provider refused unless it is allowed or local.
 */
export function prepareConfig(
  config: Config,
  options: ScopeOptions,
  simulated: ReadonlyMap<string, unknown>,
  baseURLFor: (name: string, settings: ProviderSettings) => string,
): Config {
  const providers: Record<string, ProviderSettings> = {};
  for (const [name, settings] of Object.entries(config.providers)) {
    if (settings.type === 'mock' || !settings.enabled) {
      providers[name] = settings;
      continue;
    }
    if (simulated.has(name)) {
      // Same retry count as configured, but backoff in milliseconds: tests should not sleep.
      providers[name] = {
        ...settings,
        base_url: baseURLFor(name, settings),
        retry_base_ms: Math.min(settings.retry_base_ms, 1),
        retry_max_ms: Math.min(settings.retry_max_ms, 20),
      };
      continue;
    }
    if (!options.allowRealProviders && !isLoopback(settings.base_url)) {
      throw new TokenPakError(
        'config_invalid',
        `${config.source} enables provider "${name}" (type ${settings.type}), which would call the real ${settings.type === 'openai' ? 'OpenAI' : 'Anthropic'} API from your tests. ` +
          `Set providers.${name}.enabled: false, answer it with a local stand-in (simulateProviders: true), or allow it explicitly (allowRealProviders: true).`,
      );
    }
    // Without base_url a provider reads OPENAI_BASE_URL / ANTHROPIC_BASE_URL, which the plugin points at TokenPak itself.
    providers[name] = { ...settings, base_url: settings.base_url ?? (settings.type === 'openai' ? OPENAI_BASE_URL : ANTHROPIC_BASE_URL) };
  }
  return { ...config, providers };
}

const SCOPE_KEYS = ['config', 'simulateProviders', 'allowRealProviders'] as const;
const FILE_KEYS = [...SCOPE_KEYS, 'interceptHosts', 'unhandledLLMHosts', 'llmHosts', 'answerInProcess', 'transcriptOnFailure', 'root'] as const;

/** Rejects misspelt or ill-typed options where they are given (the plugin, useTokenPak()), not at the first request. */
export function checkOptions(options: unknown, where: string, scopeOnly = false): void {
  if (options === undefined) return;
  const fail = (message: string) => {
    throw new TokenPakError('config_invalid', `${where}: ${message}`);
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail('options must be an object.');
  const known: readonly string[] = scopeOnly ? SCOPE_KEYS : FILE_KEYS;
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) {
      const misplaced = scopeOnly && (FILE_KEYS as readonly string[]).includes(key) ? ' It applies to a whole run: pass it to the tokenpak() plugin or setupTokenPak().' : '';
      fail(`unknown option "${key}".${didYouMean(key, known)}${misplaced} Options: ${known.join(', ')}.`);
    }
  }
  if (o.root !== undefined && typeof o.root !== 'string') fail('root must be a directory path.');
  if (o.config !== undefined && typeof o.config !== 'string' && (typeof o.config !== 'object' || o.config === null)) fail('config must be a file path or a config object.');
  if (o.simulateProviders !== undefined && typeof o.simulateProviders !== 'boolean' && (typeof o.simulateProviders !== 'object' || o.simulateProviders === null)) {
    fail('simulateProviders must be true, false, or an object of mock settings by provider name.');
  }
  for (const key of ['allowRealProviders', 'interceptHosts', 'answerInProcess', 'transcriptOnFailure']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') fail(`${key} must be true or false.`);
  }
  if (o.unhandledLLMHosts !== undefined && !['bypass', 'warn', 'error'].includes(o.unhandledLLMHosts as string)) {
    fail(`unhandledLLMHosts must be "bypass", "warn" or "error", not ${JSON.stringify(o.unhandledLLMHosts)}.`);
  }
  if (o.llmHosts !== undefined && (!Array.isArray(o.llmHosts) || !o.llmHosts.every((h) => typeof h === 'string'))) {
    fail('llmHosts must be a list of host names ("llm.example.com") or "/regex/" strings.');
  }
}
