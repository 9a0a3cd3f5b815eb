/**
 * Config reload for `tokenpak proxy`: on SIGHUP, and with `--watch` when the
 * file changes, the config is loaded and checked as at start; a valid one
 * replaces the running one (requests in flight finish on the old one), an
 * invalid one is reported with its ✗ lines and the old one keeps serving.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { checkConfig, type DeployEnv } from '../config/check.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { ConfigError, formatConfigIssue } from '../errors.ts';
import type { TokenPakProxy } from '../server/proxy.ts';

export interface ReloaderOptions {
  file: string;
  env: DeployEnv;
  /** `--replay`: real providers answer from cassettes, so their keys may be unset. */
  replay: boolean;
  proxy: Pick<TokenPakProxy, 'reload'>;
  /** Told about each config that now serves. */
  onReloaded?: (config: Config) => void;
  /** Where the outcome lines go (default: the process's stdout and stderr). */
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Reloads the config file; resolves true when the new config serves. Reloads asked for while one runs are done once after it. */
export function createReloader(options: ReloaderOptions): (why: string) => Promise<boolean> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  let running: Promise<boolean> | undefined;
  let queued: Promise<boolean> | undefined;

  const once = async (why: string): Promise<boolean> => {
    const { file } = options;
    let config: Config;
    try {
      config = await loadConfig(file, { replay: options.replay });
    } catch (error) {
      if (error instanceof ConfigError) for (const issue of error.issues) err(`✗ ${formatConfigIssue(file, issue)}`);
      else err(`✗ ${(error as Error).message}`);
      err(`✗ ${why}: reload refused, ${file} is invalid; the previous config keeps serving.`);
      return false;
    }
    const { errors, warnings } = checkConfig(config, { env: options.env });
    if (options.env === 'production' && errors.length > 0) {
      for (const error of errors) err(`✗ ${error.path}: ${error.message}`);
      err(`✗ ${why}: reload refused in production (see above); the previous config keeps serving.`);
      return false;
    }
    let needsRestart: string[];
    try {
      ({ needsRestart } = options.proxy.reload(config));
    } catch (error) {
      err(`✗ ${(error as Error).message}`);
      err(`✗ ${why}: reload refused; the previous config keeps serving.`);
      return false;
    }
    for (const warning of warnings) err(`⚠ ${warning.path}: ${warning.message}`);
    if (needsRestart.length > 0) err(`⚠ ${needsRestart.join(', ')} changed: these apply only after a restart; the rest of ${file} is serving.`);
    const routes = Object.values(config.models).map((r) => `${r.name} → ${r.chain.map((t) => t.provider).join(' → ')}`);
    out(`[tokenpak] ${why}: reloaded ${file}\n  ${routes.join('\n  ')}`);
    options.onReloaded?.(config);
    return true;
  };

  return (why) => {
    if (!running) {
      running = once(why).finally(() => (running = undefined));
      return running;
    }
    // A change while a reload runs may not be in what it read: read once more after it.
    queued ??= running.then(
      () => {
        queued = undefined;
        running = once(why).finally(() => (running = undefined));
        return running;
      },
      () => false,
    );
    return queued;
  };
}

/** How long a burst of file events (an editor's write, rename and chmod) is left to settle. */
const SETTLE_MS = 100;

/**
 * Calls `onChange` when `file` changes. The folder is watched, not the file:
 * editors often save by writing a new file and renaming it over the old one,
 * which a watch on the old file would not follow.
 */
export function watchFile(file: string, onChange: () => void): FSWatcher {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, SETTLE_MS);
  });
  watcher.on('close', () => clearTimeout(timer));
  return watcher;
}
