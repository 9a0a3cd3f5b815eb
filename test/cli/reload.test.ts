/**
 * `tokenpak proxy` reloads its config on SIGHUP and, with --watch, when the
 * file changes: under a steady load of real clients (the OpenAI SDK over
 * sockets, answers and streams) no request fails, a stream begun before a
 * reload ends on the old config, and an invalid config is refused with its ✗
 * lines while the old one keeps serving.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startProxyProcess, writeConfig, type ProxyProcess } from './helpers.ts';

/** A config whose mock answers name its version; streams send one word per 5 ms. */
function configText(version: number, db: string): string {
  return `providers:
  mock:
    type: mock
    chunk_delay_ms: 5
    responses:
      "*": {default: "${answerOf(version)}"}
models:
  gpt-4: {provider: mock}
logs: {path: ${db}}
`;
}

const answerOf = (version: number) => `version ${version} ${'word '.repeat(30).trim()}`;

async function until(what: string, check: () => boolean | Promise<boolean>, proxy: ProxyProcess): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}\nstdout:\n${proxy.stdout()}\nstderr:\n${proxy.stderr()}`);
}

const reloads = (proxy: ProxyProcess) => proxy.stdout().split(': reloaded ').length - 1;

async function streamText(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

describe('tokenpak proxy: config reload', () => {
  it('SIGHUP under load: zero failed requests, each answer from one whole config, streams in flight end on the old one', async () => {
    const file = writeConfig('reload-load.yaml', configText(1, 'reload-load.db'));
    const proxy = startProxyProcess(['--config', file, '--port', '0']);
    const url = await proxy.listening;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = { model: 'gpt-4', messages: [{ role: 'user' as const, content: 'hi' }] };

    let running = true;
    const failures: string[] = [];
    const answers: string[] = [];
    const loop = async (stream: boolean) => {
      while (running) {
        try {
          const text = stream
            ? await streamText(await client.chat.completions.create({ ...ask, stream: true }))
            : ((await client.chat.completions.create(ask)).choices[0]!.message.content ?? '');
          answers.push(text);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const loops = [loop(false), loop(false), loop(false), loop(true), loop(true)];
    await until('traffic', () => answers.length >= 20, proxy);

    // A stream that has begun on version 1 …
    const early = await client.chat.completions.create({ ...ask, stream: true });
    const iterator = early[Symbol.asyncIterator]();
    let earlyText = '';
    const first = await iterator.next();
    earlyText += first.value?.choices[0]?.delta?.content ?? '';

    for (const version of [2, 3, 4]) {
      writeConfig('reload-load.yaml', configText(version, 'reload-load.db'));
      proxy.child.kill('SIGHUP');
      await until(`reload to version ${version}`, () => reloads(proxy) === version - 1, proxy);
      const seenBefore = answers.length;
      await until(`answers from version ${version}`, () => answers.slice(seenBefore).includes(answerOf(version)), proxy);
    }
    // … ends on version 1, whole, though three reloads came meanwhile.
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) earlyText += step.value.choices[0]?.delta?.content ?? '';
    expect(earlyText).toBe(answerOf(1));

    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    // Every answer, streamed or not, is one config's whole answer: none is cut or mixed.
    const versions = new Set(answers.map((text) => [1, 2, 3, 4].find((version) => text === answerOf(version)) ?? `unexpected: ${text}`));
    expect([...versions].sort()).toEqual([1, 2, 3, 4]);
    expect(proxy.stderr()).not.toContain('✗');

    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
  });

  it('an invalid config is refused with its ✗ lines; the old one keeps serving, and a fixed one then loads', async () => {
    const file = writeConfig('reload-invalid.yaml', configText(1, 'reload-invalid.db'));
    const proxy = startProxyProcess(['--config', file, '--port', '0']);
    const url = await proxy.listening;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = async () => (await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content;

    writeConfig('reload-invalid.yaml', configText(2, 'reload-invalid.db').replace('gpt-4: {provider: mock}', 'gpt-4: {provider: mokc}'));
    proxy.child.kill('SIGHUP');
    await until('the refusal', () => proxy.stderr().includes('reload refused'), proxy);
    expect(proxy.stderr()).toMatch(/✗ \S*reload-invalid\.yaml:8:\d+: models\.gpt-4\.provider: .*"mokc".*mock/);
    expect(proxy.stderr()).toMatch(/✗ SIGHUP: reload refused, \S*reload-invalid\.yaml is invalid; the previous config keeps serving\./);
    expect(await ask()).toBe(answerOf(1));

    writeConfig('reload-invalid.yaml', configText(3, 'reload-invalid.db'));
    proxy.child.kill('SIGHUP');
    await until('the reload', () => reloads(proxy) === 1, proxy);
    expect(await ask()).toBe(answerOf(3));
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
  });

  it('--watch reloads when the file changes, with no signal', async () => {
    const file = writeConfig('reload-watch.yaml', configText(1, 'reload-watch.db'));
    const proxy = startProxyProcess(['--config', file, '--port', '0', '--watch']);
    const url = await proxy.listening;
    expect(proxy.stdout()).toContain('a change reloads it');
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    writeConfig('reload-watch.yaml', configText(2, 'reload-watch.db'));
    await until('the reload', () => reloads(proxy) === 1, proxy);
    expect(proxy.stdout()).toMatch(/reload-watch\.yaml changed: reloaded/);
    expect((await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content).toBe(answerOf(2));
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
  });
});
