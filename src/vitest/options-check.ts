/**
 * The Vitest plugin's options, and the checks made where they are given.
 * Light on purpose (no config loading): test files import it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/load.ts';
import type { ConfigInput } from '../config/schema.ts';
import { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';

/** A config: the path of a YAML file, an inline config object, or a config already loaded. */
export type ConfigOption = string | ConfigInput | Config;

/** Mock settings of a simulated provider (`type` is implied). */
export type SimulatedProviderSettings = Omit<Extract<ConfigInput['providers'][string], { type: 'mock' }>, 'type' | 'enabled' | 'base_url' | 'headers'>;

/** What to do with a test's recorded provider traffic (see "Record and replay" in the README). */
export type CassetteMode = 'record' | 'replay' | 'auto' | 'off';

/** A test's cassette: the recorded traffic of the config's real providers, replayed instead of their APIs. */
export interface CassetteOptions {
  /**
   * The cassette's name: a file under the cassette folder (`/` makes
   * folders). Default: from the test file and the test's name
   * (`test/chat.test/answers-a-question`); outside a test, the file's.
   */
  name?: string;
  /**
   * `replay` (never call the API; a request with no recording fails with the
   * closest recorded one and a diff), `record` (call the API, rewrite),
   * `auto` (replay what is recorded, record what is missing) or `off`.
   * Default: the config's `cassettes.mode` when it is not `off`, else `replay`.
   * `vitest -u` and `TOKENPAK_RECORD=1` turn every mode but `off` into `record`.
   */
  mode?: CassetteMode;
  /** The cassette folder, relative to the project root. Default: the config's `cassettes.dir` (`cassettes`). */
  dir?: string;
}

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
  /**
   * Answer the config's real providers from recordings: a cassette name, or
   * `{ name, mode, dir }`; `true` for the defaults, `false` for none. In
   * `useTokenPak()` inside a test it is that test's; at the top of a file,
   * every test's of the file (with a name: one cassette they share); in the
   * plugin, every test's (mode and folder only).
   */
  cassette?: string | boolean | CassetteOptions;
}

/** What to do with a call to an LLM API host that TokenPak does not answer. */
export type UnhandledHostPolicy = 'bypass' | 'warn' | 'error';

/** Options of `tokenpak/vitest/setup` (pass them with the `tokenpak()` Vite plugin). */
export interface TokenPakVitestOptions extends ScopeOptions {
  /**
   * Hard-coded hosts: calls to `https://api.openai.com` and
   * `https://api.anthropic.com` are answered by the test's TokenPak. Default:
   * for `fetch` calls (the official SDKs), at no cost. `true` also loads msw
   * (an optional peer dependency) in every test file, for clients that do not
   * use `fetch` (`http.request`, axios); `false` turns both off.
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
   * Tag `fetch` calls to TokenPak with the test that made them (default
   * true), so that each call reaches that test's scope, concurrent tests
   * included. Set false to send them untagged, as a client that does not use
   * `fetch` does.
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

const SCOPE_KEYS = ['config', 'simulateProviders', 'allowRealProviders', 'cassette'] as const;
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
  if (o.cassette !== undefined) checkCassette(o.cassette, fail, scopeOnly);
  if (o.unhandledLLMHosts !== undefined && !['bypass', 'warn', 'error'].includes(o.unhandledLLMHosts as string)) {
    fail(`unhandledLLMHosts must be "bypass", "warn" or "error", not ${JSON.stringify(o.unhandledLLMHosts)}.`);
  }
  if (o.llmHosts !== undefined && (!Array.isArray(o.llmHosts) || !o.llmHosts.every((h) => typeof h === 'string'))) {
    fail('llmHosts must be a list of host names ("llm.example.com") or "/regex/" strings.');
  }
}

const CASSETTE_KEYS = ['name', 'mode', 'dir'] as const;
const CASSETTE_MODES = ['record', 'replay', 'auto', 'off'];

function checkCassette(value: unknown, fail: (message: string) => never, scopeOnly: boolean): void {
  if (typeof value === 'boolean') return;
  const named = typeof value === 'string' || (typeof value === 'object' && value !== null && (value as CassetteOptions).name !== undefined);
  // A name for a whole run would make every test of every file share one cassette.
  if (named && !scopeOnly) fail('cassette cannot be named here: every test of the run would share it. Name cassettes in useTokenPak({ cassette: "name" }), or keep the default (one per test, named after it).');
  if (typeof value === 'string') {
    if (value.trim() === '') fail('cassette must be a non-empty name.');
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('cassette must be a name, true, false, or { name, mode, dir }.');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(CASSETTE_KEYS as readonly string[]).includes(key)) fail(`unknown cassette option "${key}".${didYouMean(key, CASSETTE_KEYS)} Options: ${CASSETTE_KEYS.join(', ')}.`);
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.trim() === '')) fail('cassette.name must be a non-empty string.');
  if (o.dir !== undefined && (typeof o.dir !== 'string' || o.dir === '')) fail('cassette.dir must be a folder path.');
  if (o.mode !== undefined && !CASSETTE_MODES.includes(o.mode as string)) fail(`cassette.mode must be "record", "replay", "auto" or "off", not ${JSON.stringify(o.mode)}.`);
}

/** A cassette option in its object form (`false` is mode off). */
export function cassetteOptions(value: ScopeOptions['cassette']): CassetteOptions | undefined {
  if (value === undefined) return undefined;
  if (value === false) return { mode: 'off' };
  if (value === true) return {};
  if (typeof value === 'string') return { name: value };
  return value;
}

/** Options of a test (or file) over the file's (or plugin's): later keys win, cassette settings merge field by field. */
export function mergeScopeOptions(base: ScopeOptions, over: ScopeOptions): ScopeOptions {
  const merged = { ...base, ...over };
  if (base.cassette !== undefined && over.cassette !== undefined) merged.cassette = { ...cassetteOptions(base.cassette), ...cassetteOptions(over.cassette) };
  return merged;
}
