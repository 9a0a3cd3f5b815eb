import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';

/** A mistake in how a command was called: exit code 2. */
export class UsageError extends Error {
  /** The command whose help page shows how to call it, when known. */
  command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/**
 * `parseArgs` with strict checking. Its errors become usage errors in our words: an unknown
 * flag with a did-you-mean, a flag without its value, a value given to a switch.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O) {
  const given = joinDashValues(args, options);
  try {
    return parseArgs({ args: given, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(flagProblem(error as NodeJS.ErrnoException, options), command);
  }
}

/**
 * `--limit -3` gives -3 to --limit (parseArgs calls it ambiguous), so that the option's own
 * check can say what is wrong with the value.
 */
function joinDashValues(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : Object.keys(options).find((key) => arg === `-${options[key]!.short}`);
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function flagProblem(error: NodeJS.ErrnoException, options: ParseArgsOptionsConfig): string {
  const flags = Object.keys(options).map((name) => `--${name}`);
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(error.message)?.[1] ?? 'option';
    const bare = flag.replace(/=.*$/, '');
    return `unknown option ${bare}.${didYouMean(bare, flags)} Options: ${flags.join(', ')}.`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([\w-]+)/.exec(error.message)?.[1];
    if (name !== undefined && options[name]?.type === 'boolean') return `--${name} is a switch and takes no value.`;
    if (name !== undefined) return `--${name} needs a value: --${name} VALUE.`;
  }
  return error.message;
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
export function reportError(error: unknown, command?: string): number {
  if (error instanceof UsageError) {
    const name = error.command ?? command;
    const where = name !== undefined ? `tokenpak ${name}: ` : 'tokenpak: ';
    const help = name !== undefined ? `Run "tokenpak ${name} --help" for its options and examples.` : 'Run "tokenpak --help" for usage.';
    process.stderr.write(`${where}${error.message}\n${help}\n`);
    return 2;
  }
  if (error instanceof TokenPakError) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  process.stderr.write(`[tokenpak] Unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
