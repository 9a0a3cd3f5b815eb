/**
 * The `tokenpak` command line.
 */
import { createRequire } from 'node:module';
import { reportError, UsageError } from './shared.ts';

type Command = (args: string[]) => Promise<number>;

// Each command loads only its own modules: `tokenpak logs` never pays for the
// HTTP server, the providers or undici.
const commands: Record<string, () => Promise<Command>> = {
  proxy: async () => (await import('./proxy.ts')).proxyCommand,
  'validate-config': async () => (await import('./validate-config.ts')).validateConfigCommand,
  logs: async () => (await import('./logs.ts')).logsCommand,
  stats: async () => (await import('./stats.ts')).statsCommand,
};

const usage = `Usage: tokenpak <command> [options]

Commands:
  proxy             start the proxy
  validate-config   check a config file
  logs              list logged calls
  stats             sum up the call log

Run "tokenpak <command> --help" for a command's options.`;

function version(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = commands[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}.`);
    return await (await command())(rest);
  } catch (error) {
    return reportError(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
