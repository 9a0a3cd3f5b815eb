/**
 * The mock's run-time controls (for tests): configure, setPatterns, setDefault,
 * failNext, checkpoint/undo, reset, and the calls record.
 */
import { describe, expect, it } from 'vitest';
import { TokenPakError } from '../../src/errors.ts';
import { ask, failure, mockFromYaml, textOfComplete } from './mock-helpers.ts';

const BASE = `    responses:\n      m:\n        default: base\n        patterns:\n          debug: debugged\n`;

describe('mock run-time controls', () => {
  it('failNext(n) fails exactly the next n calls with the configured failure, then recovers', async () => {
    const mock = mockFromYaml(`    failure: 529\n${BASE}`);
    mock.failNext(2);
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push(await mock.complete(ask('x')).then(() => 'ok', (e: TokenPakError) => `${e.status}`));
    expect(codes).toEqual(['529', '529', 'ok']);
    expect(mock.calls.map((c) => c.injected)).toEqual([529, 529, undefined]);
    expect(((await failure((mock.failNext(1), mock.complete(ask('x'))))) as Error).message).toContain('failNext');
  });

  it('failNext takes a failure kind or an HTTP status with a message', async () => {
    const mock = mockFromYaml(BASE);
    mock.failNext(1, 429);
    mock.failNext(1, { status: 418, message: 'I am a teapot.' });
    const rate = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect({ code: rate.code, retryable: rate.retryable }).toEqual({ code: 'rate_limited', retryable: true });
    const teapot = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect({ status: teapot.status, retryable: teapot.retryable, detail: teapot.detail }).toEqual({ status: 418, retryable: false, detail: 'I am a teapot.' });
  });

  it('setPatterns adds patterns tried before the file ones, or replaces them', async () => {
    const mock = mockFromYaml(BASE);
    mock.setPatterns('m', { debug: 'overridden', '/^hi$/i': 'hello!' });
    expect(await textOfComplete(mock, ask('debug'))).toBe('overridden');
    expect(await textOfComplete(mock, ask('HI'))).toBe('hello!');
    mock.setPatterns('m', [[/bye/, ['bye 1', 'bye 2']]], { replace: true });
    expect(await textOfComplete(mock, ask('debug'))).toBe('base');
    expect(await textOfComplete(mock, ask('bye'))).toBe('bye 1');
    const next = { model: 'm', messages: [...ask('bye').messages, { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'bye 1' }] }, ...ask('bye again').messages] };
    expect(await textOfComplete(mock, next)).toBe('bye 2');
  });

  it('answers can be functions of the request', async () => {
    const mock = mockFromYaml(BASE);
    mock.setPatterns('m', { echo: (request) => `you said: ${request.messages.length} message(s)` });
    expect(await textOfComplete(mock, ask('echo'))).toBe('you said: 1 message(s)');
  });

  it('setDefault changes the answer when no pattern matches, also for a new model', async () => {
    const mock = mockFromYaml(BASE);
    mock.setDefault('m', 'new default');
    mock.setDefault('brand-new', { tool_call: { name: 'f', arguments: { a: 1 } } });
    expect(await textOfComplete(mock, ask('x'))).toBe('new default');
    expect((await mock.complete(ask('x', { model: 'brand-new' }))).stopReason).toBe('tool-calls');
  });

  it('configure changes settings from the next call on', async () => {
    const mock = mockFromYaml(BASE);
    await mock.complete(ask('x'));
    mock.configure({ failure_rate: 1, failure: 503 });
    expect(mock.settings).toMatchObject({ failure_rate: 1, failure: 503 });
    expect(((await failure(mock.complete(ask('x')))) as TokenPakError).status).toBe(503);
  });

  it('checkpoint() returns an undo that restores settings, answers and pending failures', async () => {
    const mock = mockFromYaml(BASE);
    const undo = mock.checkpoint();
    mock.configure({ latency_ms: 5 });
    mock.setPatterns('m', { debug: 'temporary' });
    mock.setDefault('m', 'temporary default');
    mock.failNext(3);
    expect(await mock.complete(ask('x')).catch(() => 'failed')).toBe('failed');
    undo();
    expect(mock.settings.latency_ms).toBe(0);
    expect(await textOfComplete(mock, ask('debug'))).toBe('debugged');
    expect(await textOfComplete(mock, ask('x'))).toBe('base');
    // Call numbering is not undone: the recorded calls stay.
    expect(mock.calls.map((c) => c.index)).toEqual([0, 1, 2]);
  });

  it('reset() restores the config and restarts call numbering, so a run replays exactly', async () => {
    const mock = mockFromYaml(`    failure_rate: 0.5\n    seed: 9\n    responses:\n      m:\n        default: [a, b, c]\n`);
    const run = async () => {
      const out: string[] = [];
      for (let i = 0; i < 12; i++) out.push(await textOfComplete(mock, ask('x')).catch(() => 'x'));
      return out.join(',');
    };
    const first = await run();
    mock.setDefault('m', 'changed');
    mock.failNext(5);
    mock.reset();
    expect(mock.calls).toEqual([]);
    expect(await run()).toBe(first);
  });

  it('records every call: index, model, prompt, request, mode, source and outcome', async () => {
    const mock = mockFromYaml(BASE);
    await mock.complete(ask('please debug', { model: 'm' }));
    for await (const _ of mock.stream(ask('hello', { model: 'other' }))) void _;
    mock.failNext(1);
    await mock.complete(ask('boom')).catch(() => {});
    expect(mock.calls.map(({ index, model, prompt, stream, source, outcome }) => ({ index, model, prompt, stream, source, outcome }))).toEqual([
      { index: 0, model: 'm', prompt: 'please debug', stream: false, source: { kind: 'pattern', key: 'debug' }, outcome: 'ok' },
      { index: 1, model: 'other', prompt: 'hello', stream: true, source: { kind: 'generated' }, outcome: 'ok' },
      { index: 2, model: 'm', prompt: 'boom', stream: false, source: { kind: 'default' }, outcome: 'error' },
    ]);
    expect(mock.calls[0]!.request.messages[0]!.content).toEqual([{ type: 'text', text: 'please debug' }]);
  });
});
