/**
 * The `tokenpak` command line.
 */
import { createRequire } from 'node:module';
import { didYouMean } from '../util/did-you-mean.ts';
import { commandHelp, isCommandName, mainHelp } from './help.ts';
import { reportError, UsageError } from './shared.ts';

type Command = (args: string[]) => Promise<number>;

// Each command loads only its own modules: `tokenpak logs` never pays for the
// HTTP server, the providers or undici.
const commands: Record<string, () => Promise<Command>> = {
  proxy: async () => (await import('./proxy.ts')).proxyCommand,
  'validate-config': async () => (await import('./validate-config.ts')).validateConfigCommand,
  logs: async () => (await import('./logs.ts')).logsCommand,
  stats: async () => (await import('./stats.ts')).statsCommand,
  cassettes: async () => (await import('./cassettes.ts')).cassettesCommand,
};

function version(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) {
    const topic = rest[0]!;
    if (isCommandName(topic)) {
      process.stdout.write(`${commandHelp[topic]}\n`);
      return 0;
    }
    return reportError(unknownCommand(topic));
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  try {
    if (!command) throw unknownCommand(name);
    return await (await command())(rest);
  } catch (error) {
    return reportError(error, command ? name : undefined);
  }
}

function unknownCommand(name: string): UsageError {
  return new UsageError(`unknown command "${name}".${didYouMean(name, Object.keys(commands))} Commands: ${Object.keys(commands).join(', ')}.`);
}

// No top-level await: the single-file binary bundles this module as CommonJS (Node's SEA runs only a CommonJS main).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
