/**
 * How the mock chooses and builds its answers: patterns, regex keys, defaults,
 * generated answers, lists, tool calls, errors, max_tokens, token estimates.
 */
import { describe, expect, it } from 'vitest';
import { estimateInputTokens, estimateOutputTokens, estimateTokens } from '../../src/providers/mock/tokens.ts';
import { createPricer } from '../../src/pricing/pricing.ts';
import { ask, events, failure, mockFromYaml, textOfComplete } from './mock-helpers.ts';
import { TokenPakError } from '../../src/errors.ts';
import type { ChatRequest } from '../../src/canonical/types.ts';

const RECIPE_GPT4 = `    responses:
      m:
        default: "Mock GPT-4 response: [mock output for testing]"
        patterns:
          debug: "Mock response: Debugged your code successfully"
          refactor: "Mock response: Code refactored for clarity"
`;

describe('mock answers: patterns and default', () => {
  it('matches a keyword case-insensitively anywhere in the last user message', async () => {
    const mock = mockFromYaml(RECIPE_GPT4);
    expect(await textOfComplete(mock, ask('Debug my code'))).toBe('Mock response: Debugged your code successfully');
    expect(await textOfComplete(mock, ask('please DEBUG this'))).toBe('Mock response: Debugged your code successfully');
    expect(await textOfComplete(mock, ask('time to Refactor'))).toBe('Mock response: Code refactored for clarity');
    expect(mock.calls.map((c) => c.source)).toEqual([
      { kind: 'pattern', key: 'debug' },
      { kind: 'pattern', key: 'debug' },
      { kind: 'pattern', key: 'refactor' },
    ]);
  });

  it('answers the default when no pattern matches', async () => {
    const mock = mockFromYaml(RECIPE_GPT4);
    expect(await textOfComplete(mock, ask('request 1'))).toBe('Mock GPT-4 response: [mock output for testing]');
    expect(mock.calls[0]!.source).toEqual({ kind: 'default' });
  });

  it('looks only at the last user message, not earlier turns, the system prompt or assistant replies', async () => {
    const mock = mockFromYaml(RECIPE_GPT4);
    const request = {
      model: 'm',
      system: 'You debug code.',
      messages: [
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'debug this' }] },
        { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'refactor it' }] },
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'thanks' }] },
      ],
    };
    expect(await textOfComplete(mock, request)).toBe('Mock GPT-4 response: [mock output for testing]');
    request.messages.push({ role: 'assistant', content: [{ type: 'text', text: 'you are welcome' }] });
    // The last *user* message, even when an assistant turn comes after it.
    request.messages[2] = { role: 'user', content: [{ type: 'text', text: 'now refactor' }] };
    expect(await textOfComplete(mock, request)).toBe('Mock response: Code refactored for clarity');
  });

  it('the first pattern in file order wins when several match', async () => {
    const first = mockFromYaml(`    responses:\n      m:\n        patterns:\n          refactor: R\n          debug: D\n`);
    const second = mockFromYaml(`    responses:\n      m:\n        patterns:\n          debug: D\n          refactor: R\n`);
    expect(await textOfComplete(first, ask('debug and refactor'))).toBe('R');
    expect(await textOfComplete(second, ask('debug and refactor'))).toBe('D');
  });

  it('keeps integer-like pattern keys in file order', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        patterns:\n          missing: first\n          "404": second\n`);
    expect(await textOfComplete(mock, ask('page 404 missing'))).toBe('first');
    expect(await textOfComplete(mock, ask('error 404'))).toBe('second');
  });

  it('a /source/flags key is a regular expression, case-sensitive unless flagged i', async () => {
    const mock = mockFromYaml(
      `    responses:\n      m:\n        default: none\n        patterns:\n          "/^Hello\\\\b/": strict\n          "/ref(actor|ine)s?/i": loose\n`,
    );
    expect(await textOfComplete(mock, ask('Hello world'))).toBe('strict');
    expect(await textOfComplete(mock, ask('hello world'))).toBe('none');
    expect(await textOfComplete(mock, ask('say Hello'))).toBe('none');
    expect(await textOfComplete(mock, ask('REFINES it'))).toBe('loose');
    expect(mock.calls[0]!.source).toEqual({ kind: 'pattern', key: '/^Hello\\b/' });
  });

  it('a regex with the g flag matches on every call, not every other one', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: none\n        patterns:\n          "/x/g": hit\n`);
    for (let i = 0; i < 3; i++) expect(await textOfComplete(mock, ask('x'))).toBe('hit');
  });

  it('a model without its own entry uses the * entry', async () => {
    const mock = mockFromYaml(`    responses:\n      "*":\n        default: star\n      m:\n        default: own\n`);
    expect(await textOfComplete(mock, ask('hi'))).toBe('own');
    expect(await textOfComplete(mock, ask('hi', { model: 'other' }))).toBe('star');
  });
});

describe('mock answers: generated', () => {
  it('a model with no canned entry gets a deterministic generated answer', async () => {
    const a = mockFromYaml();
    const b = mockFromYaml();
    const first = await textOfComplete(a, ask('How do I sort a list in Python?', { model: 'gpt-x' }));
    expect(first).toMatch(/^Mock answer from gpt-x: [A-Z]/);
    expect(await textOfComplete(a, ask('How do I sort a list in Python?', { model: 'gpt-x' }))).toBe(first);
    expect(await textOfComplete(b, ask('How do I sort a list in Python?', { model: 'gpt-x' }))).toBe(first);
    expect(a.calls[0]!.source).toEqual({ kind: 'generated' });
  });

  it('different prompts get different answers, and longer prompts longer ones (pitfalls 1 and 5)', async () => {
    const mock = mockFromYaml();
    const short = await textOfComplete(mock, ask('hi'));
    const other = await textOfComplete(mock, ask('hello'));
    const long = await textOfComplete(mock, ask('word '.repeat(200)));
    expect(other).not.toBe(short);
    expect(long.split(' ').length).toBeGreaterThan(short.split(' ').length + 50);
    const lengths = new Set<number>();
    for (let i = 0; i < 20; i++) lengths.add((await textOfComplete(mock, ask(`question number ${i}`))).length);
    expect(lengths.size).toBeGreaterThan(5);
  });

  it('a model entry with patterns but no default generates when nothing matches', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        patterns:\n          debug: D\n`);
    expect(await textOfComplete(mock, ask('debug'))).toBe('D');
    expect(await textOfComplete(mock, ask('other'))).toMatch(/^Mock answer from m: /);
  });
});

describe('mock answers: lists, tool calls, errors', () => {
  it('a list of answers is played through per conversation, one per assistant turn, cycling', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: [one, two, three]\n`);
    // A conversation with n assistant turns so far gets item n: the same answer however often it is sent.
    const conversation = (turns: number) => ({
      model: 'm',
      messages: Array.from({ length: turns }, () => [
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'x' }] },
        { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'reply' }] },
      ]).flat().concat([{ role: 'user', content: [{ type: 'text', text: 'x' }] }]),
    });
    const got: string[] = [];
    for (const turns of [0, 1, 2, 3, 4, 0, 0]) got.push(await textOfComplete(mock, conversation(turns)));
    expect(got).toEqual(['one', 'two', 'three', 'one', 'two', 'one', 'one']);
  });

  it('each list counts only the turns its own rule answered', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: [d1, d2]\n        patterns:\n          p: [p1, p2]\n`);
    const messages: ChatRequest['messages'] = [];
    const got: string[] = [];
    for (const prompt of ['p', 'x', 'p', 'p', 'x']) {
      messages.push({ role: 'user', content: [{ type: 'text', text: prompt }] });
      const text = await textOfComplete(mock, { model: 'm', messages: [...messages] });
      got.push(text);
      messages.push({ role: 'assistant', content: [{ type: 'text', text }] });
    }
    expect(got).toEqual(['p1', 'd1', 'p2', 'p1', 'd2']);
  });

  it('a tool_call answer becomes a tool call with JSON arguments and stop reason tool-calls', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default:\n          tool_call: {name: get_weather, arguments: {city: Paris}}\n`);
    const response = await mock.complete(ask('weather?'));
    expect(response.stopReason).toBe('tool-calls');
    expect(response.content).toHaveLength(1);
    const call = response.content[0]!;
    expect(call).toMatchObject({ type: 'tool-call', name: 'get_weather' });
    expect(call.type === 'tool-call' && JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(call.type === 'tool-call' && call.id).toMatch(/^call_[0-9a-f]{8}0$/);
  });

  it('tool_calls and content answers keep their order; a given id is kept', async () => {
    const mock = mockFromYaml(
      `    responses:\n      m:\n        default:\n          content:\n            - {type: text, text: "Let me check."}\n            - {type: tool_call, name: lookup, arguments: '{"q":"x"}', id: call_fixed}\n`,
    );
    const response = await mock.complete(ask('x'));
    expect(response.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool-call', id: 'call_fixed', name: 'lookup', arguments: '{"q":"x"}' },
    ]);
    const streamed = await events(mock.stream(ask('x')));
    expect(streamed.events.map((e) => e.type)).toEqual(expect.arrayContaining(['text-delta', 'tool-call-start', 'tool-call-delta', 'tool-call-end']));
  });

  it('an error answer fails the call with that status; a 400 is not retryable, a 503 is', async () => {
    const mock = mockFromYaml(
      `    responses:\n      m:\n        patterns:\n          bad: {error: {status: 400, message: "Invalid prompt (canned)."}}\n          down: {error: 503}\n        default: fine\n`,
    );
    const bad = (await failure(mock.complete(ask('bad input')))) as TokenPakError;
    expect(bad).toBeInstanceOf(TokenPakError);
    expect({ status: bad.status, retryable: bad.retryable, code: bad.code, detail: bad.detail }).toEqual({
      status: 400,
      retryable: false,
      code: 'invalid_request',
      detail: 'Invalid prompt (canned).',
    });
    const down = (await failure(mock.complete(ask('server down')))) as TokenPakError;
    expect({ status: down.status, retryable: down.retryable, code: down.code }).toEqual({ status: 503, retryable: true, code: 'provider_error' });
    expect(down.detail).toContain('canned error for pattern "down"');
    expect(await textOfComplete(mock, ask('ok'))).toBe('fine');
    expect(mock.calls.map((c) => c.outcome)).toEqual(['error', 'error', 'ok']);
  });

  it('an answer list can mix errors in, to script a flaky upstream: the retry of the same request gets the next answer', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: [{error: 429}, {error: 503}, recovered]\n`);
    const error = (await failure(mock.complete(ask('x')))) as TokenPakError;
    expect({ code: error.code, status: error.status, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'rate_limited', status: 429, retryAfterMs: 1 });
    // Another conversation is not a retry: it starts at the first error too.
    expect(((await failure(mock.complete(ask('y')))) as TokenPakError).status).toBe(429);
    expect(((await failure(mock.complete(ask('x')))) as TokenPakError).status).toBe(503);
    expect(await textOfComplete(mock, ask('x'))).toBe('recovered');
  });
});

describe('mock answers: max_tokens, usage and cost', () => {
  it('an answer longer than max_tokens is cut and stops with length, in both modes', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: "${'word '.repeat(100).trim()}"\n`);
    const response = await mock.complete(ask('x', { maxTokens: 10 }));
    expect(response.stopReason).toBe('length');
    expect(response.usage.outputTokens).toBe(10);
    const text = response.content[0]!.type === 'text' ? response.content[0]!.text : '';
    expect(text.length).toBe(40);
    expect('word '.repeat(100).startsWith(text)).toBe(true);
    const streamed = await events(mock.stream(ask('x', { maxTokens: 10 })));
    expect(streamed.events.at(-1)).toMatchObject({ type: 'finish', stopReason: 'length', usage: { outputTokens: 10 } });
    expect(streamed.events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('')).toBe(text);
  });

  it('an answer within max_tokens stops normally', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: short\n`);
    expect((await mock.complete(ask('x', { maxTokens: 10 }))).stopReason).toBe('stop');
  });

  it('estimates tokens as ceil(characters / 4), plus 3 per message', async () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    const request = { ...ask('12345678'), system: 'abcd' };
    // system: 1 + 3, message: 2 + 3
    expect(estimateInputTokens(request)).toBe(9);
    expect(estimateOutputTokens([{ type: 'text', text: 'x'.repeat(41) }])).toBe(11);
    const mock = mockFromYaml(`    responses:\n      m:\n        default: "${'y'.repeat(41)}"\n`);
    expect((await mock.complete(request)).usage).toEqual({ inputTokens: 9, outputTokens: 11 });
  });

  it('a mock call costs 0 cents, whatever the model name', () => {
    const pricer = createPricer({ 'gpt-4': { input: 3000, output: 6000 } });
    expect(pricer('mock', 'gpt-4', { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe(0);
    expect(pricer('openai', 'gpt-4', { inputTokens: 1_000_000, outputTokens: 0 })).toBe(3000);
  });
});
