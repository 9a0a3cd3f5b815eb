import { describe, expect } from 'vitest';
import { test, useTokenPak } from 'tokenpak/vitest';
import { desk } from '../src/support-desk.ts';

describe('summarize', () => {
  test('answers from the mock, by keyword', async ({ tokenpak }) => {
    expect(await desk.summarize('I was charged twice, I want a refund')).toBe('Customer was charged twice and wants a refund.');

    expect(tokenpak).toHaveCalledProvider('mock', 1);
    expect(tokenpak).toHaveCalledModel('gpt-4');
    expect(tokenpak).toHaveReceivedPrompt('Summarize the support ticket in one sentence.');
    expect(tokenpak.lastCall()!.attempts[0]!.source).toEqual({ kind: 'pattern', key: 'refund' });
  });

  test('a test can add its own answers; they are gone after it', async ({ tokenpak }) => {
    tokenpak.mock().setPatterns('gpt-4', { invoice: 'Customer needs a copy of an invoice.' });
    expect(await desk.summarize('Please send my invoice again')).toBe('Customer needs a copy of an invoice.');
  });

  test('…like this: the default answer again', async () => {
    expect(await desk.summarize('Please send my invoice again')).toBe('Customer reports a problem and asks for help.');
  });

  test('a failed call is retried at the route\'s fallback, unseen by the app', async ({ tokenpak }) => {
    tokenpak.mock().failNext(1, 503);
    expect(await desk.summarize('I cannot reset my password')).toBe('Customer cannot reset their password.');
    expect(tokenpak).toHaveFallenBackTo('mock');
    expect(tokenpak.lastCall()!.attempts.map((a) => a.status)).toEqual([503, 200]);
  });
});

describe('triage', () => {
  test('reads the priority from the model\'s tool call', async ({ tokenpak }) => {
    expect(await desk.triage('The whole site is down!')).toBe('high');
    expect(await desk.triage('How do I change my avatar?')).toBe('normal');
    expect(tokenpak.calls.map((call) => call.toolCalls[0]?.name)).toEqual(['set_priority', 'set_priority']);
  });

  test('a test can make the model answer anything, even as a function of the request', async () => {
    const tokenpak = useTokenPak();
    tokenpak.mock().setPatterns('gpt-3.5-turbo', {
      avatar: (request) => ({ tool_call: { name: 'set_priority', arguments: { priority: request.messages.length > 0 ? 'low' : 'high' } } }),
    });
    expect(await desk.triage('How do I change my avatar?')).toBe('low');
  });
});

describe('draftReply', () => {
  test('streams the reply from Anthropic', async ({ tokenpak }) => {
    const pieces: string[] = [];
    const reply = await desk.draftReply('Refund please, I paid twice', (text) => pieces.push(text));

    expect(reply).toBe('Sorry about the double charge. Your refund is on its way and should arrive within 5 days.');
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('')).toBe(reply);
    expect(tokenpak.lastCall()).toMatchObject({ clientFormat: 'anthropic-messages', stream: true, model: 'claude-3-sonnet' });
    expect(tokenpak).toHaveReceivedPrompt('You are a friendly support agent.');
  });

  test('simulated latency shows up where a user would notice it', async ({ tokenpak }) => {
    tokenpak.mock().configure({ latency_ms: 150 });
    const started = performance.now();
    let firstPieceAfter = 0;
    await desk.draftReply('Hello', () => {
      firstPieceAfter ||= performance.now() - started;
    });
    expect(firstPieceAfter).toBeGreaterThanOrEqual(140);
  });
});
