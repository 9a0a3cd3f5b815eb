/**
 * The built CLI: `tokenpak proxy --record DIR`, then `--replay DIR` with the
 * API gone and no key set, and `tokenpak cassettes ls | verify | prune`.
 */
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startProxyProcess, work, writeConfig } from '../cli/helpers.ts';
import { createFakeOpenAI, FAKE_OPENAI_KEY, replies, type FakeUpstream } from '../support/fake-upstream.ts';

let openai: FakeUpstream;
let configFile: string;
const dir = join(work, 'recorded');

beforeAll(async () => {
  openai = await createFakeOpenAI();
  configFile = writeConfig(
    'cassettes.yaml',
    `providers:
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
    base_url: ${openai.baseUrl}
    retry_base_ms: 1
models:
  gpt-4: { provider: openai }
server: { port: 0 }
logs: { store: memory }
`,
  );
});
afterAll(() => openai.close());

async function ask(url: string, text: string) {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: text }] }) });
  return { status: response.status, body: (await response.json()) as { content?: string; error?: { message: string } } };
}

async function stop(proxy: ReturnType<typeof startProxyProcess>) {
  proxy.child.kill('SIGTERM');
  expect(await proxy.exited).toBe(0);
}

describe('tokenpak proxy --record / --replay', () => {
  it('records through the real provider, then replays with the API gone and no key', async () => {
    const recorder = startProxyProcess(['--config', configFile, '--record', dir], { OPENAI_API_KEY: FAKE_OPENAI_KEY });
    const url = await recorder.listening;
    expect(recorder.stdout()).toContain(`cassettes: record ${dir}`);
    const live = await ask(url, 'capital of France?');
    expect(live.status).toBe(200);
    await stop(recorder);
    const file = readFileSync(join(dir, 'default.cassette.yaml'), 'utf8');
    expect(file).toContain('version: 1');
    expect(file).not.toContain(FAKE_OPENAI_KEY);
    const calls = openai.requests.length;

    // No OPENAI_API_KEY at all: a replay needs none.
    const replayer = startProxyProcess(['--config', configFile, '--replay', dir]);
    const replayUrl = await replayer.listening;
    const replayed = await ask(replayUrl, 'capital of France?');
    expect(replayed.status).toBe(200);
    expect(replayed.body.content).toBe(live.body.content);
    expect((replayed.body as { cost_cents?: number }).cost_cents).toBe((live.body as { cost_cents?: number }).cost_cents);
    const missed = await ask(replayUrl, 'capital of Peru?');
    expect(missed.status).toBe(404);
    expect(missed.body.error?.message).toContain('+ "content": "capital of Peru?"');
    await stop(replayer);
    expect(replayer.stdout()).toMatch(/cassette .*default: 1 of 1 exchange\(s\) used/);
    expect(openai.requests.length).toBe(calls);
  });

  it('refuses --record with --replay, and a replay that needs a key without --replay still asks for it', async () => {
    const both = await run(['proxy', '--config', configFile, '--record', dir, '--replay', dir]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--record and --replay cannot be used together');
    const noKey = await run(['validate-config', configFile]);
    expect(noKey.code).toBe(1);
    expect(noKey.stdout + noKey.stderr).toContain('OPENAI_API_KEY');
  });
});

describe('tokenpak cassettes', () => {
  it('ls lists each scenario with its exchanges, endpoint and use', async () => {
    const listed = await run(['cassettes', 'ls', dir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/SCENARIO\s+EXCHANGES\s+ENDPOINTS/);
    expect(listed.stdout).toMatch(/default\s+1\s+\/v1\/chat\/completions/);
    expect(listed.stdout).not.toMatch(/default.*never\s+default\.cassette\.yaml/);
  });

  it('verify passes while the API answers in the same shape, and names the field when it changes', async () => {
    const same = await run(['cassettes', 'verify', dir, '--config', configFile], { OPENAI_API_KEY: FAKE_OPENAI_KEY });
    expect(same.stdout).toContain('1 of 1 recorded exchange(s) match');
    expect(same.code).toBe(0);

    const changed = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/upstream/openai-chat-text.json'), 'utf8'));
    changed.choices[0].message.reasoning = 'thought about it';
    delete changed.system_fingerprint;
    changed.usage.prompt_tokens = String(changed.usage.prompt_tokens);
    openai.reply(replies.status(200, changed));
    const drifted = await run(['cassettes', 'verify', dir, '--config', configFile], { OPENAI_API_KEY: FAKE_OPENAI_KEY });
    expect(drifted.code).toBe(1);
    expect(drifted.stdout).toContain("the answer's shape changed");
    expect(drifted.stdout).toContain('+ $.choices[].message.reasoning (string)');
    expect(drifted.stdout).toContain('- $.system_fingerprint');
    expect(drifted.stdout).toContain('~ $.usage.prompt_tokens: number → string');
  });

  it('prune deletes only scenarios unused for longer than --unused-for', async () => {
    const stale = join(dir, 'old-flow.cassette.yaml');
    writeFileSync(stale, readFileSync(join(dir, 'default.cassette.yaml'), 'utf8').replace('name: default', 'name: old-flow').replace(/recorded_at: .*/, 'recorded_at: 2026-01-01T00:00:00.000Z'));
    const past = new Date('2026-01-01');
    utimesSync(stale, past, past);
    const dry = await run(['cassettes', 'prune', dir, '--unused-for', '7d', '--dry-run']);
    expect(dry.stdout).toContain('would delete');
    expect(dry.stdout).toContain('old-flow.cassette.yaml');
    expect(existsSync(stale)).toBe(true);
    const real = await run(['cassettes', 'prune', dir, '--unused-for', '7d']);
    expect(real.code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(dir, 'default.cassette.yaml'))).toBe(true);
  });
});
