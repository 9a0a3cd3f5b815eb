/**
 * Cassettes for a running TokenPak, from its config: one cassette set per
 * distinct setting (the top-level `cassettes:` and any provider's own), each
 * real provider given a dispatcher onto its set.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/load.ts';
import type { CassettesSettings } from '../config/schema.ts';
import { createAnthropicProvider } from '../providers/anthropic/anthropic-provider.ts';
import { createOpenAIProvider } from '../providers/openai/openai-provider.ts';
import { createProvider, type ProviderFactory } from '../providers/registry.ts';
import { createCassetteSet, type CassetteSet } from './cassette-set.ts';
import { markUsed } from './file.ts';
import { createCassetteDispatcher } from './dispatcher.ts';
import { compileRedaction, createRedactor } from './redact.ts';
import { cassettesEnabled, type CassetteOverrides } from './enabled.ts';
import type { AppCassettes, ReplayTiming, WireReplay } from './types.ts';

/** A scenario's use in this run. */
export interface CassetteUsage {
  dir: string;
  name: string;
  used: number;
  total: number;
}

export interface Cassettes {
  readonly sets: readonly CassetteSet[];
  readonly providerFactory: ProviderFactory;
  readonly app: AppCassettes;
  /** Waits for pending writes and reports which recordings were used. */
  close(): Promise<CassetteUsage[]>;
}

/**
 * The cassettes of a config, or undefined when no provider uses any.
 * `defaultTiming` is the replay speed where the config sets none
 * (`recorded` for the proxy, `instant` in tests).
 */
export function createCassettes(
  config: Config,
  options: {
    overrides?: CassetteOverrides;
    defaultTiming?: ReplayTiming;
    base?: ProviderFactory;
    /**
     * Sets shared with other configs' cassettes (by their settings): the
     * Vitest run's scopes use one set per folder and mode, so that tests
     * naming the same cassette write one file.
     */
    shared?: Map<string, CassetteSet>;
  } = {},
): Cassettes | undefined {
  const overrides = options.overrides ?? {};
  if (!cassettesEnabled(config, overrides)) return undefined;
  const secrets = config.secrets;
  const shared = options.shared ?? new Map<string, CassetteSet>();
  const secretsDigest = createHash('sha256').update(JSON.stringify(secrets)).digest('hex');
  // The sets this config uses (a subset of the shared ones).
  const sets = new Map<string, CassetteSet>();
  const setFor = (settings: CassettesSettings): CassetteSet | undefined => {
    const mode = settings === config.cassettes ? (overrides.mode ?? settings.mode) : settings.mode;
    if (mode === 'off') return undefined;
    const dir = settings === config.cassettes ? (overrides.dir ?? settings.dir) : settings.dir;
    const timing = (settings === config.cassettes ? overrides.timing : undefined) ?? settings.timing ?? options.defaultTiming ?? 'recorded';
    const redactions = [...config.cassettes.redact, ...settings.redact];
    // The secrets are part of what a set does (its redactor), kept in the key only as a digest.
    const key = JSON.stringify([mode, dir, timing, settings.on_miss, settings.ignore, redactions, settings.name, secretsDigest]);
    let set = sets.get(key) ?? shared.get(key);
    if (!set) {
      set = createCassetteSet({
        dir,
        mode,
        onMiss: settings.on_miss,
        timing,
        ...(settings.ignore ? { ignore: settings.ignore } : {}),
        redactor: createRedactor(secrets, redactions.map(compileRedaction)),
        defaultName: settings.name,
      });
      shared.set(key, set);
    }
    sets.set(key, set);
    return set;
  };

  const base = options.base ?? createProvider;
  const providerFactory: ProviderFactory = (name, settings) => {
    if (settings.type !== 'openai' && settings.type !== 'anthropic') return base(name, settings);
    const set = setFor(settings.cassettes ?? config.cassettes);
    if (!set) return base(name, settings);
    const dispatcher = createCassetteDispatcher(set, { name, connectTimeoutMs: settings.connect_timeout_ms });
    return settings.type === 'openai' ? createOpenAIProvider(name, settings, { dispatcher }) : createAnthropicProvider(name, settings, { dispatcher });
  };
  // Build the sets now, so that requests are bound to every set that can answer them.
  for (const settings of Object.values(config.providers)) {
    if (settings.enabled && (settings.type === 'openai' || settings.type === 'anthropic')) setFor(settings.cassettes ?? config.cassettes);
  }
  const all = () => [...sets.values()];

  return {
    get sets() {
      return all();
    },
    providerFactory,
    app: {
      bind(requestId, name) {
        for (const set of all()) set.bind(requestId, name);
      },
      release(requestId) {
        for (const set of all()) set.release(requestId);
      },
      takeWire(requestId) {
        let wire: WireReplay | undefined;
        for (const set of all()) wire = set.takeWire(requestId) ?? wire;
        return wire;
      },
    },
    close: () => closeSets(all()),
  };
}

/** Waits for the sets' pending writes, notes which scenarios answered (for `tokenpak cassettes prune`), and reports their use. */
export async function closeSets(sets: Iterable<CassetteSet>): Promise<CassetteUsage[]> {
  const usage: CassetteUsage[] = [];
  for (const set of sets) {
    await set.flush();
    const used: string[] = [];
    for (const [name, use] of await set.usage()) {
      usage.push({ dir: set.dir, name, used: use.used.length, total: use.total });
      if (use.used.length > 0) used.push(name);
    }
    await markUsed(set.dir, used);
  }
  return usage;
}
