import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { TokenPakError } from '../errors.ts';

/** A mistake in how a command was called: exit code 2. */
export class UsageError extends Error {}

/** `parseArgs` with strict checking, turning its errors into usage errors. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The config file named by the flag, else $TOKENPAK_CONFIG, else ./tokenpak.config.yaml (or .yml) if it exists. */
export function findConfigPath(flag: string | undefined): string | undefined {
  const chosen = flag ?? process.env.TOKENPAK_CONFIG;
  if (chosen) return chosen;
  return ['tokenpak.config.yaml', 'tokenpak.config.yml'].find((candidate) => existsSync(candidate));
}

/** The config file a command needs: {@link findConfigPath}, or a usage error saying how to give one. */
export function configPath(flag: string | undefined): string {
  const found = findConfigPath(flag);
  if (found) return found;
  throw new UsageError('No config file given. Pass --config FILE (or set TOKENPAK_CONFIG, or create tokenpak.config.yaml).');
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not "${value}".`);
  return port;
}

export function parseDeployEnv(value: string | undefined): 'development' | 'production' {
  const env = value ?? (process.env.NODE_ENV === 'production' ? 'production' : 'development');
  if (env !== 'development' && env !== 'production') throw new UsageError(`--env must be "development" or "production", not "${env}".`);
  return env;
}

/** Prints an error the way every command does, and returns its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`tokenpak: ${error.message}\nRun "tokenpak --help" for usage.\n`);
    return 2;
  }
  if (error instanceof TokenPakError) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  process.stderr.write(`[tokenpak] Unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
