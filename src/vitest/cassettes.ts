/**
 * The Vitest run's cassettes: every scope whose config or options use
 * recordings gets its real providers answered (or recorded) through one
 * run-wide cassette set per folder and mode, with each of its requests bound
 * to the scope's cassette (the test's), so concurrent tests stay apart. At the
 * end of the run, the cassette files no test used are named.
 */
import { relative, resolve } from 'node:path';
import { cassettePath, listCassetteFiles } from '../cassettes/file.ts';
import type { CassetteSet } from '../cassettes/cassette-set.ts';
import { closeSets, createCassettes, type Cassettes } from '../cassettes/setup.ts';
import type { Config } from '../config/load.ts';
import type { CassettesSettings, ProviderSettings } from '../config/schema.ts';
import { TokenPakError } from '../errors.ts';
import { PLACEHOLDER_KEY } from './env.ts';
import { cassetteCoverage, isLoopback } from './options.ts';
import { cassetteOptions, type ScopeOptions } from './options-check.ts';

export interface RunCassettes {
  /**
   * A scope's cassettes, bound to `name` (a request's `x-tokenpak-cassette`
   * header still picks another), or undefined when the scope uses none.
   * `record` (from `vitest -u` or `TOKENPAK_RECORD=1`) re-records.
   */
  forScope(config: Config, options: ScopeOptions, root: string, name: string, record: boolean): Cassettes | undefined;
  /** Waits for pending writes; the unused cassette files, as lines to print (none when every one was used). */
  close(): Promise<string[]>;
}

export function createRunCassettes(): RunCassettes {
  const shared = new Map<string, CassetteSet>();

  return {
    forScope(config, options, root, name, record) {
      const option = cassetteOptions(options.cassette);
      // One rule for which providers recordings answer, the same as the real-API guard's.
      const coverage = cassetteCoverage(config, options);
      const modeOf = (own: CassettesSettings['mode']): CassettesSettings['mode'] => (own === 'off' ? 'off' : record ? 'record' : own);
      // Folders are the project's: relative ones start at its root, not at wherever Vitest was started.
      const settingsOf = (own: CassettesSettings, dir: string): CassettesSettings => ({ ...own, mode: modeOf(own.mode), dir: resolve(root, dir) });
      const providers: Record<string, ProviderSettings> = {};
      for (const [provider, settings] of Object.entries(config.providers)) {
        if ((settings.type !== 'openai' && settings.type !== 'anthropic') || !settings.cassettes) {
          providers[provider] = settings;
          continue;
        }
        const own = coverage.providers.has(provider) ? settingsOf(settings.cassettes, settings.cassettes.dir) : { ...settings.cassettes, mode: 'off' as const };
        providers[provider] = { ...settings, cassettes: own };
      }
      const mode = coverage.mode;
      const top = settingsOf({ ...config.cassettes, mode }, option?.dir ?? config.cassettes.dir);
      for (const [provider, settings] of Object.entries(providers)) {
        if (settings.type !== 'openai' && settings.type !== 'anthropic') continue;
        const own = settings.cassettes ?? top;
        const callsApi = own.mode === 'record' || own.mode === 'auto' || (own.mode === 'replay' && own.on_miss === 'record');
        // Recording with the setup's placeholder key would replace good cassettes with the API's 401s.
        if (callsApi && settings.api_key === PLACEHOLDER_KEY && !isLoopback(settings.base_url)) {
          const variable = settings.type === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
          throw new TokenPakError(
            'config_invalid',
            `Recording cassettes (${record ? 'vitest -u or TOKENPAK_RECORD=1' : `cassette mode ${own.mode}`}) calls the real API of provider "${provider}", but its api_key is the Vitest setup's placeholder: ${variable} is not set. ` +
              `Set ${variable} for the recording run, or run without -u / TOKENPAK_RECORD to replay the cassettes.`,
          );
        }
      }
      const cassettes = createCassettes({ ...config, cassettes: top, providers }, { defaultTiming: 'instant', shared });
      if (!cassettes) return undefined;
      return {
        get sets() {
          return cassettes.sets;
        },
        providerFactory: cassettes.providerFactory,
        app: {
          bind: (requestId, header) => cassettes.app.bind(requestId, header ?? name),
          release: (requestId) => cassettes.app.release(requestId),
          takeWire: (requestId) => cassettes.app.takeWire(requestId),
        },
        // The run closes the shared sets once, at its end.
        close: async () => [],
      };
    },

    async close() {
      const usage = await closeSets(shared.values());
      const lines: string[] = [];
      const dirs = [...new Set([...shared.values()].map((set) => set.dir))].sort();
      for (const dir of dirs) {
        // A cassette a test looked in is its test's, even when the request missed (that is the test's failure to show).
        const used = new Set(usage.filter((u) => u.dir === dir).map((u) => relative(dir, cassettePath(dir, u.name)).split('\\').join('/')));
        const unused = (await listCassetteFiles(dir)).filter((file) => !used.has(file));
        if (unused.length === 0) continue;
        const where = relative(process.cwd(), dir) || '.';
        lines.push(
          `[tokenpak] ${unused.length === 1 ? '1 cassette' : `${unused.length} cassettes`} in ${where}/ went unused in this run ` +
            '(its test was renamed or removed, or no longer calls a model; a run of some files or tests leaves the others\' cassettes unused):',
          ...unused.map((file) => `  ${file}`),
        );
      }
      return lines;
    },
  };
}
