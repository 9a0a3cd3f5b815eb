/**
 * The first hour with the built CLI: the Node version check, help pages with
 * examples, flag mistakes in plain words, and config warnings at proxy start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandHelp } from '../../src/cli/help.ts';
import { recipeDir, run, startProxyProcess } from './helpers.ts';

const SYSTEM_NODE = '/usr/bin/node';
const systemNodeVersion = existsSync(SYSTEM_NODE) ? execFileSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' }).trim() : undefined;
const systemNodeIsOld = systemNodeVersion !== undefined && /^v(?:1\d|20|21|22\.(?:\d|1[0-8])\.)/.test(systemNodeVersion);

describe('the Node version check', () => {
  it.runIf(systemNodeIsOld)(`on the machine's old Node (${systemNodeVersion}) the CLI says which Node it needs`, async () => {
    const result = await run(['--version'], {}, { node: SYSTEM_NODE });
    expect(result).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining(`TokenPak needs Node >= 22.19 (this is ${systemNodeVersion}).`) });
    expect(result.stderr).not.toMatch(/SyntaxError|does not provide an export/);
  });

  it('on a Node that reports an older version the CLI stops before loading anything', async () => {
    // A preloaded module makes this Node report 22.18.0; the bin must check before its imports.
    const fake = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"22.18.0"})`;
    const result = await run(['proxy', '--config', join(recipeDir, 'config.yaml'), '--port', '0'], {}, { nodeArgs: ['--import', fake] });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(
      'TokenPak needs Node >= 22.19 (this is v22.18.0). Install a newer Node (https://nodejs.org, or `nvm install 24`) and run it again.',
    );
  });

  it('the Node this test runs on is new enough, and the CLI runs', async () => {
    const result = await run(['--version']);
    expect(result).toEqual({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/), stderr: '' });
  });
});

describe('help', () => {
  it.each(Object.keys(commandHelp) as Array<keyof typeof commandHelp>)('"tokenpak help %s" and "tokenpak %s --help" print the same page, with examples', async (name) => {
    const viaHelp = await run(['help', name]);
    const viaFlag = await run([name, '--help']);
    expect(viaHelp).toEqual({ code: 0, stdout: `${commandHelp[name]}\n`, stderr: '' });
    expect(viaFlag).toEqual(viaHelp);
    expect(viaHelp.stdout).toContain(`Usage: tokenpak ${name}`);
    expect(viaHelp.stdout).toMatch(/\nExamples:\n  tokenpak /);
  });

  it('"tokenpak help" with an unknown command suggests the nearest one', async () => {
    const result = await run(['help', 'stat']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "stat". Did you mean "stats"?');
  });

  it('the top-level help points at the per-command pages', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Run "tokenpak help <command>"');
  });
});

describe('flag mistakes', () => {
  it('an unknown flag gets a did-you-mean and a pointer to the command\'s help, not Node\'s raw text', async () => {
    const result = await run(['logs', '--providr', 'openai']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'tokenpak logs: unknown option --providr. Did you mean "--provider"? Options: --provider, --model, --status, --since, --limit, --json, --follow, --config, --help.\n' +
        'Run "tokenpak logs --help" for its options and examples.\n',
    );
    expect(result.stderr).not.toContain("Unknown option '");
  });

  it('a negative number is the flag\'s value, checked by the flag\'s own rule', async () => {
    const result = await run(['logs', '--limit', '-3']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('tokenpak logs: --limit must be a whole number of at least 1, not "-3".\nRun "tokenpak logs --help" for its options and examples.\n');
  });

  it('a missing value and a value given to a switch are named', async () => {
    const missing = await run(['proxy', '--port']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('tokenpak proxy: --port needs a value: --port VALUE.');
    const switchValue = await run(['stats', '--json=yes']);
    expect(switchValue.code).toBe(2);
    expect(switchValue.stderr).toContain('tokenpak stats: --json is a switch and takes no value.');
  });

  it('an unknown command suggests the nearest one', async () => {
    const result = await run(['proxi']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('tokenpak: unknown command "proxi". Did you mean "proxy"?');
  });
});

describe('tokenpak proxy at start', () => {
  it('prints the warnings validate-config prints', async () => {
    const config = join(recipeDir, 'config.prod.yaml');
    const env = { OPENAI_API_KEY: 'sk-test-not-used', ANTHROPIC_API_KEY: 'sk-ant-test-not-used' };
    const validate = await run(['validate-config', config], env);
    const warnings = validate.stdout.split('\n').filter((line) => line.startsWith('⚠ '));
    expect(warnings).toHaveLength(3);
    const proxy = startProxyProcess(['--config', config, '--port', '0', '--host', '127.0.0.1'], env);
    await proxy.listening;
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    expect(proxy.stderr().split('\n').filter((line) => line.startsWith('⚠ '))).toEqual(warnings);
  });
});
