/**
 * The README's shell commands as a newcomer types them, from the root of a
 * clone: every TokenPak command is `npx tokenpak` (a bare `tokenpak` is not on
 * the PATH of a clone), names a real command, only flags that command takes,
 * and files that exist; the read-only ones (`validate-config`) run and print
 * what the README shows. Commands that start a proxy or need a log are run by
 * test/recipe/recipe.test.ts; this file does not start servers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandHelp, isCommandName } from '../../src/cli/help.ts';
import { root, run } from './helpers.ts';

interface ShellCommand {
  /** The README line the command starts on. */
  line: number;
  /** Variables set in front of the command (`A=1 B=2 cmd`, or `export A=1` lines before it in its block). */
  env: Record<string, string>;
  /** The words of the command, its first pipeline stage, without a trailing comment. */
  words: string[];
  /** What the block shows after a `$ ` command, if anything. */
  shownOutput?: string;
}

/** Every command of the README's `sh`/`bash` blocks and of `$ ` prompts in plain blocks. */
function readmeCommands(): ShellCommand[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const commands: ShellCommand[] = [];
  for (const block of readme.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)) {
    const [, indent, lang, body] = block as unknown as [string, string, string, string];
    const prompted = lang === '' && /^ *\$ /m.test(body);
    if (lang !== 'sh' && lang !== 'bash' && !prompted) continue;
    const firstLine = readme.slice(0, block.index).split('\n').length + 1;
    const lines = body.split('\n').map((text) => text.slice(indent.length));
    const exported: Record<string, string> = {};
    for (let i = 0; i < lines.length; i++) {
      let text = lines[i]!;
      if (prompted) {
        if (!text.startsWith('$ ')) continue;
        text = text.slice(2);
      }
      const start = i;
      while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!.trim()}`;
      // A comment starts at " #" outside quotes; the README's commands quote no "#".
      const stage = text.replace(/\s+#.*$/, '').split('|')[0]!.trim();
      if (stage === '') continue;
      const words = stage.split(/\s+/);
      const env: Record<string, string> = { ...exported };
      const isExport = words[0] === 'export';
      if (isExport) words.shift();
      while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
        const [name, ...value] = words.shift()!.split('=');
        env[name!] = value.join('=');
      }
      if (isExport) {
        Object.assign(exported, env);
        continue;
      }
      const next = lines.findIndex((l, j) => j > i && l.startsWith('$ '));
      const shown = lines.slice(i + 1, next === -1 ? undefined : next).filter((l) => l !== '');
      const shownOutput = prompted && shown.length > 0 ? `${shown.join('\n')}\n` : undefined;
      commands.push({ line: firstLine + start, env, words, shownOutput });
    }
  }
  return commands;
}

const commands = readmeCommands();
const tokenpakCommands = commands.filter((c) => c.words[0] === 'tokenpak' || (c.words[0] === 'npx' && c.words[1] === 'tokenpak'));
const where = (c: ShellCommand) => `README.md:${c.line}: ${c.words.join(' ')}`;

describe("the README's shell commands", () => {
  it('are found: the quick start, the recipe steps and the log examples', () => {
    const texts = tokenpakCommands.map((c) => c.words.join(' '));
    expect(texts).toContain('npx tokenpak proxy --config examples/recipe/config.yaml');
    expect(texts).toContain('npx tokenpak validate-config examples/recipe/config.yaml');
    expect(texts).toContain('npx tokenpak logs --provider mock --limit 200');
  });

  it('call TokenPak as npx tokenpak, which works in a clone and in a project that installed it', () => {
    expect(tokenpakCommands.filter((c) => c.words[0] !== 'npx').map(where)).toEqual([]);
  });

  it('name real commands and only the flags each command takes', () => {
    const mistakes: string[] = [];
    for (const command of tokenpakCommands) {
      const [name, ...args] = command.words.slice(command.words[0] === 'npx' ? 2 : 1);
      if (name === undefined || !isCommandName(name)) {
        mistakes.push(`${where(command)}: no command "${name}"`);
        continue;
      }
      for (const flag of args.filter((a) => a.startsWith('--'))) {
        if (!new RegExp(`(^|\\s|\\[)${flag.split('=')[0]}\\b`).test(commandHelp[name])) mistakes.push(`${where(command)}: ${name} takes no ${flag}`);
      }
    }
    expect(mistakes).toEqual([]);
  });

  it('name config files that exist from the repository root', () => {
    const missing: string[] = [];
    for (const command of tokenpakCommands) {
      for (const [i, word] of command.words.entries()) {
        const isFile = /\.(ya?ml|ts)$/.test(word) || command.words[i - 1] === '--config';
        if (isFile && !existsSync(join(root, word))) missing.push(`${where(command)}: ${word} does not exist`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('validate-config, run as written, succeeds and prints what the README shows', async () => {
    const validations = tokenpakCommands.filter((c) => c.words.includes('validate-config'));
    expect(validations.length).toBeGreaterThanOrEqual(2);
    const results = await Promise.all(
      validations.map(async (command) => {
        const result = await run(command.words.slice(2), command.env, { cwd: root });
        return { command: where(command), code: result.code, stderr: result.stderr, ...(command.shownOutput === undefined ? {} : { stdout: result.stdout }) };
      }),
    );
    expect(results).toEqual(
      validations.map((command) => ({
        command: where(command),
        code: 0,
        stderr: '',
        ...(command.shownOutput === undefined ? {} : { stdout: command.shownOutput }),
      })),
    );
  });
});
