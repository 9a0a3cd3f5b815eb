/**
 * How `tokenpak logs` and `tokenpak stats` find the call log: the `logs:`
 * section of the config (`--config`, `$TOKENPAK_CONFIG`, or
 * `./tokenpak.config.yaml`), else the defaults — the SQLite file
 * `.tokenpak/calls.db` in the working directory, which is where
 * `tokenpak proxy` writes when its config says nothing about logs.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, TokenPakError } from '../errors.ts';
import { createCallLogStore, DEFAULT_LOGS_SETTINGS, type LogsSettings } from '../logs/create-store.ts';
import type { CallLogStore } from '../logs/types.ts';
import { findConfigPath } from './shared.ts';

/**
 * The `logs:` settings of a config. Reading the log must not need the
 * providers' API keys: when the config fails only outside `logs:` (an unset
 * ${OPENAI_API_KEY}, say), the `logs:` section alone is used.
 */
export async function readLogsSettings(file: string | undefined): Promise<LogsSettings> {
  if (file === undefined) return DEFAULT_LOGS_SETTINGS;
  // Loaded only when there is a config to read: `tokenpak logs` beside a proxy started without logs: stays fast.
  const [{ loadConfig }, { logsSchema }, { readConfigSource }] = await Promise.all([
    import('../config/load.ts'),
    import('../config/schema.ts'),
    import('../config/yaml-source.ts'),
  ]);
  try {
    return (await loadConfig(file)).logs;
  } catch (error) {
    if (!(error instanceof ConfigError) || error.code === 'config_not_found') throw error;
    if (error.issues.some((issue) => issue.path === '' || issue.path === 'logs' || issue.path.startsWith('logs.'))) throw error;
    const source = readConfigSource(await readFile(file, 'utf8'), process.env);
    const logs = (source.data as { logs?: unknown } | null)?.logs ?? {};
    const parsed = logsSchema.safeParse(logs);
    if (!parsed.success) throw error;
    return parsed.data;
  }
}

/** Opens the call log a config names, for reading. */
export async function openLogForReading(configFlag: string | undefined): Promise<CallLogStore> {
  const settings = await readLogsSettings(findConfigPath(configFlag));
  if (settings.store === 'memory') {
    throw new TokenPakError(
      'log_store_error',
      'This config keeps calls in memory (logs.store: memory), inside the proxy process: there is nothing to read from here. Use logs.store: sqlite (the default) or postgres.',
    );
  }
  return createCallLogStore(settings, { defaultStore: 'sqlite', readOnly: true });
}
