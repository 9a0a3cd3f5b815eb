/**
 * Options of the Vitest plugin, and how a config is found and prepared for a
 * test: which file, which providers are simulated, and the guard that keeps
 * tests from reaching a paid API by accident.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { defineConfig, parseConfig, type Config } from '../config/load.ts';
import type { ConfigInput, MockProviderSettings, ProviderSettings } from '../config/schema.ts';
import { ConfigError, TokenPakError } from '../errors.ts';
import { cassetteOptions, type CassetteMode, type ConfigOption, type ScopeOptions } from './options-check.ts';
import { ANTHROPIC_BASE_URL } from '../formats/anthropic-messages.ts';
import { OPENAI_BASE_URL } from '../formats/openai-chat.ts';

const DEFAULT_FILES = ['tokenpak.config.yaml', 'tokenpak.config.yml'];

function isResolvedConfig(value: object): value is Config {
  const models = (value as { models?: Record<string, { chain?: unknown }> }).models;
  return typeof (value as { source?: unknown }).source === 'string' && models !== undefined && Object.values(models).every((m) => Array.isArray(m?.chain));
}

/** Loads config files synchronously, once per path and modification time. */
export function createConfigLoader(cwd: string, env: NodeJS.ProcessEnv = process.env) {
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
    const config = parseConfig(text, { file: display.startsWith('..') ? file : display, env });
    cache.set(file, { mtimeMs, config });
    return config;
  };

  return {
    /** The config an option names, or the default one. */
    load(option: ConfigOption | undefined, via = 'the config option', fromEnv = env.TOKENPAK_CONFIG): Config {
      if (option === undefined) {
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
      return defineConfig(option as ConfigInput, { env });
    },
  };
}

export type ConfigLoader = ReturnType<typeof createConfigLoader>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True for a URL on this machine. */
export function isLoopback(url: string | undefined): boolean {
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
 * The cassette mode of a scope's top-level `cassettes:` (the test's
 * `cassette` option over the config), and the real providers that recordings
 * answer or record: they are not guarded, as the test asked for them.
 */
export function cassetteCoverage(config: Config, options: ScopeOptions): { mode: CassetteMode; providers: Set<string> } {
  const option = cassetteOptions(options.cassette);
  const configured = config.cassettes.mode;
  const mode: CassetteMode = option ? (option.mode ?? (configured !== 'off' ? configured : 'replay')) : configured;
  const providers = new Set<string>();
  for (const [name, settings] of Object.entries(config.providers)) {
    if (!settings.enabled || (settings.type !== 'openai' && settings.type !== 'anthropic')) continue;
    // `off` in the test's options turns off the providers' own cassettes too.
    const own = option?.mode === 'off' ? 'off' : (settings.cassettes?.mode ?? mode);
    if (own !== 'off') providers.add(name);
  }
  return { mode, providers };
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
  const recorded = cassetteCoverage(config, options).providers;
  for (const [name, settings] of Object.entries(config.providers)) {
    if (settings.type === 'mock' || settings.type === 'custom' || !settings.enabled) {
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
    if (!options.allowRealProviders && !recorded.has(name) && !isLoopback(settings.base_url)) {
      throw new TokenPakError(
        'config_invalid',
        `${config.source} enables provider "${name}" (type ${settings.type}), which would call the real ${settings.type === 'openai' ? 'OpenAI' : 'Anthropic'} API from your tests. ` +
          `Set providers.${name}.enabled: false, answer it with a local stand-in (simulateProviders: true) or from recordings (cassette: true), or allow it explicitly (allowRealProviders: true).`,
      );
    }
    // Without base_url a provider reads OPENAI_BASE_URL / ANTHROPIC_BASE_URL, which the plugin points at TokenPak itself.
    providers[name] = { ...settings, base_url: settings.base_url ?? (settings.type === 'openai' ? OPENAI_BASE_URL : ANTHROPIC_BASE_URL) };
  }
  return { ...config, providers };
}

export { checkOptions, mergeScopeOptions, projectRootOf, type CassetteMode, type CassetteOptions, type ConfigOption, type ScopeOptions, type SimulatedProviderSettings, type TokenPakVitestOptions, type UnhandledHostPolicy } from './options-check.ts';
