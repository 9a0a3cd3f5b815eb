/**
 * The `tokenpak` command line.
 */
import { createRequire } from 'node:module';
import { proxyCommand, proxyHelp } from './proxy.ts';
import { reportError, UsageError } from './shared.ts';
import { validateConfigCommand, validateConfigHelp } from './validate-config.ts';
import { logsCommand, logsHelp } from './logs.ts';
import { statsCommand, statsHelp } from './stats.ts';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, { run: Command; help: string }> = {
  proxy: { run: proxyCommand, help: proxyHelp },
  'validate-config': { run: validateConfigCommand, help: validateConfigHelp },
  logs: { run: logsCommand, help: logsHelp },
  stats: { run: statsCommand, help: statsHelp },
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
    return await command.run(rest);
  } catch (error) {
    return reportError(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
