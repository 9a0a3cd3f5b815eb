/**
 * The channel between a test worker and the run's TokenPak, over real
 * loopback sockets: a JSON answer to a tagged request carries the worker's
 * events; an answer the worker never read (its request was aborted) is sent
 * again over the channel on request, and events that arrive twice count once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { channelTo } from '../../src/vitest/channel.ts';
import { EVENTS_HEADER, REQUEST_HEADER, SCOPE_HEADER, SEQ_HEADER } from '../../src/vitest/protocol.ts';
import { startRunServer } from '../../src/vitest/run-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'tokenpak-channel-'));
writeFileSync(join(dir, 'tokenpak.config.yaml'), 'providers:\n  mock:\n    type: mock\n    responses:\n      gpt-4:\n        default: "hello"\nmodels:\n  gpt-4: { provider: mock }\n');
const server = await startRunServer();
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('an answer that carried events and was not read: resend brings them over the channel, and the late copy is ignored', async () => {
  const channel = await channelTo({ url: server.url, controlPort: server.controlPort, token: server.token });
  await channel.request('file', { root: dir, options: {}, env: { ...process.env }, scope: `${channel.id}.f1` });
  const arrived: Array<{ scope: string; prompt: string }> = [];
  channel.events = { call: (scope, call) => arrived.push({ scope, prompt: (call as { prompt: string }).prompt }), stray: () => {} };

  const { tag } = channel.tagRequest();
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SCOPE_HEADER]: `${channel.id}.t1`, [REQUEST_HEADER]: tag },
    body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'lost answer' }] }),
  });
  const carried = Number(response.headers.get(EVENTS_HEADER));
  const seq = Number(response.headers.get(SEQ_HEADER));
  const text = await response.text();
  expect(carried).toBeGreaterThan(0);
  expect(JSON.parse(text.slice(carried))).toMatchObject({ choices: [{ message: { content: 'hello' } }] });
  // As if the worker had dropped the answer: nothing has arrived.
  expect(arrived).toEqual([]);

  channel.resend();
  await channel.caughtUp(seq);
  expect(arrived).toEqual([{ scope: `${channel.id}.t1`, prompt: 'lost answer' }]);
  expect(channel.acked).toBe(seq);

  // The answer read after all: its events are the same ones, counted once.
  channel.deliver(text.slice(0, carried));
  expect(arrived).toHaveLength(1);
});

it('a channel whose run server has gone: a request fails with shutting_down and says what to do, and a port with nothing on it cannot be reached', async () => {
  const other = await startRunServer();
  const channel = await channelTo({ url: other.url, controlPort: other.controlPort, token: other.token });
  await other.close();
  const error = await channel.request('file', { root: dir, options: {}, env: { ...process.env }, scope: `${channel.id}.gone` }).then(
    () => undefined,
    (thrown: unknown) => thrown as { code?: string; message?: string },
  );
  expect(error?.code).toBe('shutting_down');
  expect(error?.message).toMatch(/closed its control channel .*Await every call inside the test/);

  const unreachable = await channelTo({ url: other.url, controlPort: other.controlPort, token: other.token }).then(
    () => undefined,
    (thrown: unknown) => thrown as { code?: string; message?: string },
  );
  expect(unreachable?.code).toBe('shutting_down');
  expect(unreachable?.message).toMatch(/Cannot reach the run's TokenPak control channel .*globalSetup/);
});
