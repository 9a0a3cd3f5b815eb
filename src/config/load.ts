/**
 * `loadConfig()`: YAML → `${VAR}` interpolation → zod schema → route
 * resolution → one typed {@link Config}. Everything is checked here, once;
 * nothing downstream re-validates.
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import {
  configSchema,
  type ConfigInput,
  type ParsedConfig,
  type ProviderSettings,
  type RouteSettings,
} from './schema.ts';
import { patternKeyError } from './pattern-key.ts';
import { keysAt } from './schema-keys.ts';
import { pathKey, readConfigSource, type ConfigSource, type DataPath } from './yaml-source.ts';

/** One step of a route: which provider is asked, under which model name. */
export interface RouteTarget {
  /** Configured provider name. */
  provider: string;
  /** Model name sent upstream. */
  model: string;
}

/** A model route with its provider chain worked out. */
export interface ResolvedRoute {
  /** The model name clients ask for. */
  name: string;
  /** The route as written (defaults applied). */
  settings: RouteSettings;
  /** Primary first, then every fallback, in the order they are tried. */
  chain: RouteTarget[];
}

/** The resolved config every other part of TokenPak reads. */
export interface Config {
  /** Where it came from: a file path, or `<inline>`. */
  source: string;
  providers: Record<string, ProviderSettings>;
  models: Record<string, ResolvedRoute>;
  server: ParsedConfig['server'] & { body_limit_bytes: number; conversation_memory_bytes: number };
  logs: ParsedConfig['logs'];
  pricing: ParsedConfig['pricing'];
  /** Recording and replaying real providers' traffic (providers may override it with their own `cassettes:`). */
  cassettes: ParsedConfig['cassettes'];
  /** Where rate-limit and budget counters live: Redis for a fleet, or (absent) this process's memory. */
  state: ParsedConfig['state'];
  /** OpenTelemetry traces, when the config has a `telemetry:` section. */
  telemetry?: ParsedConfig['telemetry'];
  /** Prometheus metrics: on when `enabled` (a `metrics:` section), else off. */
  metrics: { enabled: boolean; port?: number; host: string };
  /**
   * Values never shown in any answer, log row or output: every value a
   * `${VAR}` put into a provider, `server.auth`, `logs.url`, `state` or
   * `telemetry`; providers' `api_key`s; header values (providers' and
   * `telemetry.headers`) whose name speaks of a credential (`api-key`,
   * `authorization`, `x-goog-api-key`, …); client keys; the Redis password.
   * Longest first.
   */
  secrets: readonly string[];
}

export interface LoadOptions {
  /** Environment used for `${VAR}` (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Every real provider will answer from cassettes (`tokenpak proxy --replay`):
   * their unset variables (API keys) are not errors, since nothing is sent.
   */
  replay?: boolean;
}

/** Reads and resolves a config file. Throws {@link ConfigError} listing every problem. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : String(error);
    throw new ConfigError(
      file,
      [{ path: '', message: `cannot read the config file: ${reason}. Pass the path of a YAML config with --config.` }],
      'config_not_found',
    );
  }
  return parseConfig(text, { ...options, file });
}

/** Resolves config YAML text. */
export function parseConfig(text: string, options: LoadOptions & { file?: string } = {}): Config {
  const source = readConfigSource(text, options.env ?? process.env);
  return resolveSource(source, options.file ?? '<inline>', options.replay ?? false);
}

/**
 * Resolves a config given as data (for example inline options of the Vitest
 * plugin). `${VAR}` references in strings are interpolated as in files.
 */
export function defineConfig(input: ConfigInput, options: LoadOptions = {}): Config {
  const text = JSON.stringify(input);
  // JSON is YAML: going through the same reader keeps one set of rules
  // (interpolation, pattern order, error paths) for files and inline configs.
  return resolveSource(readConfigSource(text, options.env ?? process.env), '<inline>', options.replay ?? false);
}

function resolveSource(source: ConfigSource, file: string, replay = false): Config {
  if (source.issues.length > 0) throw new ConfigError(file, source.issues);
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    throw new ConfigError(file, [
      { path: '', message: 'the config must be a mapping with at least `providers:` and `models:`' },
    ]);
  }
  const raw = source.data as Record<string, unknown>;
  const locate = (path: DataPath, at: 'key' | 'value' = 'value'): Omit<ConfigIssue, 'message'> => {
    const entry = source.entries.get(pathKey(path));
    const position = (at === 'key' ? entry?.key ?? entry?.value : entry?.value ?? entry?.key) ?? nearestPosition(source, path);
    return { path: entry?.display ?? path.join('.'), ...position };
  };

  const issues: ConfigIssue[] = [];
  const envIssuePaths: DataPath[] = [];
  for (const unset of source.unset) {
    const [top, providerName] = unset.path;
    if (top === 'providers' && typeof providerName === 'string' && (isDisabled(raw, providerName) || replays(raw, providerName, replay))) continue;
    envIssuePaths.push(unset.path);
    const fix =
      top === 'providers' && typeof providerName === 'string'
        ? `Set it, or set providers.${providerName}.enabled: false.`
        : 'Set it, or give a default with ${NAME:-default}.';
    issues.push({
      ...locate(unset.path),
      message: `uses \${${unset.variable}}, which is not set. ${fix}`,
    });
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (envIssuePaths.some((p) => startsWith(issue.path, p))) continue;
      issues.push(...describeZodIssue(issue, raw, locate));
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, sortIssues(issues));

  const config = parsed.data;
  const semantic = resolveRoutes(config, locate, replay);
  semantic.issues.push(...checkClientKeys(config, locate));
  if (semantic.issues.length > 0) throw new ConfigError(file, sortIssues(semantic.issues));
  return {
    source: file,
    providers: config.providers,
    models: semantic.models,
    server: { ...config.server, body_limit_bytes: parseSize(config.server.body_limit), conversation_memory_bytes: parseSize(config.server.conversations.max_memory) },
    logs: config.logs,
    pricing: config.pricing,
    cassettes: config.cassettes,
    state: config.state,
    ...(config.telemetry ? { telemetry: config.telemetry } : {}),
    metrics: config.metrics ?? { enabled: false, host: '127.0.0.1' },
    secrets: secretsOf(config, source.fromEnv),
  };
}

// A header with one of these in its name carries a credential, even when written literally.
const CREDENTIAL_HEADER = /auth|key|token|secret|passw|cookie|signature|credential/i;

function secretsOf(config: ParsedConfig, fromEnv: ConfigSource['fromEnv']): string[] {
  const found = new Set<string>();
  for (const { path, value } of fromEnv) {
    if (path[0] === 'providers' || (path[0] === 'server' && path[1] === 'auth') || (path[0] === 'logs' && path[1] === 'url') || path[0] === 'state' || path[0] === 'telemetry') found.add(value);
  }
  const redisPassword = config.state ? passwordOf(config.state.redis) : undefined;
  if (redisPassword) found.add(redisPassword);
  for (const provider of Object.values(config.providers)) {
    if ('api_key' in provider && provider.api_key) found.add(provider.api_key);
    for (const [name, value] of Object.entries(provider.headers ?? {})) if (CREDENTIAL_HEADER.test(name)) found.add(value);
  }
  for (const key of config.server.auth?.keys ?? []) found.add(typeof key === 'string' ? key : key.key);
  // A tracing backend's API key, written literally.
  for (const [name, value] of Object.entries(config.telemetry?.headers ?? {})) if (CREDENTIAL_HEADER.test(name)) found.add(value);
  // Longest first, so that a secret containing another is redacted whole.
  return [...found].filter((value) => value.trim() !== '').sort((a, b) => b.length - a.length);
}

/** The password in a URL (`redis://user:secret@host`), which no message may show. */
function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** Per-key model lists name configured models; no key is listed twice, and no name given to two keys. */
function checkClientKeys(config: ParsedConfig, locate: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const routeNames = Object.keys(config.models);
  const seen = new Set<string>();
  const names = new Set<string>();
  (config.server.auth?.keys ?? []).forEach((entry, i) => {
    const key = typeof entry === 'string' ? entry : entry.key;
    // The key itself is never printed: the message names its position.
    if (seen.has(key)) issues.push({ ...locate(['server', 'auth', 'keys', i]), message: 'is the same key as an earlier entry. Give each client its own key.' });
    seen.add(key);
    if (typeof entry === 'string') return;
    if (entry.name !== undefined) {
      if (names.has(entry.name)) issues.push({ ...locate(['server', 'auth', 'keys', i, 'name']), message: `"${entry.name}" names an earlier key too. Give each key its own name.` });
      names.add(entry.name);
    }
    entry.models?.forEach((model, j) => {
      if (!config.models[model]) {
        issues.push({
          ...locate(['server', 'auth', 'keys', i, 'models', j]),
          message: `names unknown model "${model}".${didYouMean(model, routeNames)} Configured models: ${routeNames.join(', ')}.`,
        });
      }
    });
  });
  return issues;
}

type Locate = (path: DataPath, at?: 'key' | 'value') => Omit<ConfigIssue, 'message'>;

function isDisabled(raw: Record<string, unknown>, provider: string): boolean {
  const providers = raw.providers as Record<string, { enabled?: unknown }> | undefined;
  return providers?.[provider]?.enabled === false;
}

/** A provider that answers only from cassettes never sends its key. */
function replays(raw: Record<string, unknown>, provider: string, replayAll: boolean): boolean {
  const own = (raw.providers as Record<string, { cassettes?: { mode?: unknown } }> | undefined)?.[provider]?.cassettes?.mode;
  if (own !== undefined) return own === 'replay';
  return replayAll || (raw.cassettes as { mode?: unknown } | undefined)?.mode === 'replay';
}

function startsWith(path: readonly PropertyKey[], prefix: DataPath): boolean {
  return prefix.every((segment, i) => path[i] === segment);
}

function nearestPosition(source: ConfigSource, path: DataPath) {
  for (let n = path.length - 1; n >= 0; n--) {
    const entry = source.entries.get(pathKey(path.slice(0, n)));
    if (entry?.value) return entry.value;
  }
  return undefined;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function describeZodIssue(issue: z.core.$ZodIssue, raw: unknown, locate: Locate): ConfigIssue[] {
  const path = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(configSchema, raw, path);
    return issue.keys.map((key) => ({
      ...locate([...path, key], 'key'),
      message: `unknown key "${key}".${didYouMean(key, known)}${known.length ? ` Known keys here: ${known.join(', ')}.` : ''}`,
    }));
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    const value = valueAt(raw, path);
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    return [
      {
        ...locate(path),
        message:
          value === undefined
            ? `is required: one of ${options.map((o) => `"${o}"`).join(', ')}`
            : `unknown ${String(path.at(-1))} ${JSON.stringify(value)}: use one of ${options.map((o) => `"${o}"`).join(', ')}.${didYouMean(String(value), options)}`,
      },
    ];
  }
  if (issue.code === 'invalid_union' && !('discriminator' in issue && issue.discriminator)) {
    // A value only one alternative could take (an object where the others are a string or a number):
    // its own problem, deep inside, says more than "must be a or b".
    const value = valueAt(raw, path);
    const candidates = issue.errors.filter((branch) => !branch.every((inner) => inner.path.length === 0 && inner.code === 'invalid_type'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && candidates.length === 1 && candidates[0]!.every((inner) => inner.path.length > 0)) {
      return candidates[0]!.flatMap((inner) => describeZodIssue({ ...inner, path: [...path, ...inner.path] } as z.core.$ZodIssue, raw, locate));
    }
  }
  if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) {
    return [{ ...locate(path), message: `is required (${issue.expected})` }];
  }
  return [{ ...locate(path), message: issue.message.replace(/^Invalid input: /, '') }];
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** Works out each route's chain and checks what the schema cannot. */
function resolveRoutes(config: ParsedConfig, locate: Locate, replayAll = false): { models: Record<string, ResolvedRoute>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const providerNames = Object.keys(config.providers);
  const routeNames = Object.keys(config.models);
  if (providerNames.length === 0) issues.push({ ...locate(['providers']), message: 'no providers: add at least one (for example `mock: {type: mock}`)' });
  if (routeNames.length === 0) issues.push({ ...locate(['models']), message: 'no models: add at least one route (for example `gpt-4: {provider: mock}`)' });

  for (const [name, provider] of Object.entries(config.providers)) {
    if (!provider.enabled || provider.type === 'mock' || provider.type === 'custom') continue;
    // A provider that only replays cassettes never sends a key.
    const replaying = (provider.cassettes?.mode ?? (replayAll ? 'replay' : config.cassettes.mode)) === 'replay';
    if (!provider.api_key && provider.base_url === undefined && !replaying) {
      const variable = provider.type === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
      issues.push({
        ...locate(['providers', name]),
        path: `providers.${name}.api_key`,
        message: `is required for an enabled ${provider.type} provider. Add api_key: \${${variable}}, or set enabled: false.`,
      });
    }
  }

  // A bad `/regex/` key must fail here, with its position, not when the mock is built.
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.type !== 'mock') continue;
    for (const [model, entry] of Object.entries(provider.responses)) {
      entry.patterns.forEach(([key], i) => {
        const error = patternKeyError(key);
        if (error) issues.push({ ...locate(['providers', name, 'responses', model, 'patterns', i, 0], 'key'), message: `pattern key ${JSON.stringify(key)} ${error}` });
      });
      entry.rules.forEach((rule, i) => {
        const at = ['providers', name, 'responses', model, 'rules', i, 'when'];
        const texts: Array<[DataPath, string | undefined]> = [
          [[...at, 'prompt'], rule.when.prompt],
          [[...at, 'system'], rule.when.system],
          [[...at, 'tool_result', 'contains'], typeof rule.when.tool_result === 'object' ? rule.when.tool_result.contains : undefined],
          ...Object.entries(rule.when.metadata ?? {}).map(([key, value]): [DataPath, string] => [[...at, 'metadata', key], value]),
          ...Object.entries(rule.when.header ?? {}).map(([key, value]): [DataPath, string] => [[...at, 'header', key], value]),
        ];
        for (const [path, text] of texts) {
          const error = text === undefined ? undefined : patternKeyError(text);
          if (error) issues.push({ ...locate(path), message: `${JSON.stringify(text)} ${error}` });
        }
      });
    }
  }

  const checkProvider = (route: string, provider: string, path: DataPath) => {
    const settings = config.providers[provider];
    if (!settings) {
      issues.push({
        ...locate(path),
        message: `routes to unknown provider "${provider}".${didYouMean(provider, providerNames)} Configured providers: ${providerNames.join(', ') || '(none)'}.`,
      });
    } else if (!settings.enabled) {
      issues.push({
        ...locate(path),
        message: `routes to provider "${provider}", which is disabled (enabled: false). Enable it, or route ${route} to an enabled provider.`,
      });
    }
  };

  const own = new Map<string, RouteTarget[]>();
  for (const [name, route] of Object.entries(config.models)) {
    checkProvider(name, route.provider, ['models', name, 'provider']);
    const fallbacks = listOf(route.fallback_provider);
    fallbacks.forEach((provider, i) =>
      checkProvider(name, provider, ['models', name, 'fallback_provider', ...(Array.isArray(route.fallback_provider) ? [i] : [])]),
    );
    const primaryModel = route.model ?? name;
    if (route.fallback_model !== undefined && typeof route.fallback_model === 'object') {
      for (const provider of Object.keys(route.fallback_model)) {
        if (!fallbacks.includes(provider)) {
          issues.push({
            ...locate(['models', name, 'fallback_model', provider], 'key'),
            message: `names provider "${provider}", which is not in fallback_provider (${fallbacks.join(', ') || 'none'}).`,
          });
        }
      }
    }
    const fallbackModel = (provider: string) =>
      typeof route.fallback_model === 'string' ? route.fallback_model : route.fallback_model?.[provider] ?? primaryModel;
    own.set(name, [
      { provider: route.provider, model: primaryModel },
      ...fallbacks.map((provider) => ({ provider, model: fallbackModel(provider) })),
    ]);
  }

  const models: Record<string, ResolvedRoute> = {};
  // Every route of a cycle would find it; report each cycle once.
  const cycles = new Set<string>();
  const expand = (name: string, trail: string[]): RouteTarget[] => {
    const route = config.models[name]!;
    const chain = [...own.get(name)!];
    const next = listOf(route.fallback_route);
    next.forEach((target, i) => {
      const path = ['models', name, 'fallback_route', ...(Array.isArray(route.fallback_route) ? [i] : [])];
      if (!config.models[target]) {
        issues.push({ ...locate(path), message: `names unknown route "${target}".${didYouMean(target, routeNames)} Configured models: ${routeNames.join(', ')}.` });
      } else if (trail.includes(target)) {
        // Reported once, from the first route of the cycle in file order, at the entry that closes it.
        const members = [...trail].sort().join('\u0000');
        if (trail[0] === target && !cycles.has(members)) {
          cycles.add(members);
          issues.push({ ...locate(path), message: `fallback cycle: ${[...trail, target].join(' → ')}. Remove one of these fallback_route entries.` });
        }
      } else {
        chain.push(...expand(target, [...trail, target]));
      }
    });
    return chain;
  };
  for (const [name, settings] of Object.entries(config.models)) {
    models[name] = { name, settings, chain: expand(name, [name]) };
  }
  return { models, issues };
}

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };

/** `"4mb"` → 4000000. The schema has already checked the form. */
export function parseSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(size)!;
  return Math.floor(Number(match[1]) * (UNITS[(match[2] || 'b').toLowerCase()] ?? 1));
}
