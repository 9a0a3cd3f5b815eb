/**
 * Malformed requests get each API's own error shape and status, with a
 * message that names what is wrong, and the proxy keeps serving.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ANTHROPIC, startFormatProxy, TEXT, type FormatProxy } from './helpers.ts';

let server: FormatProxy;
beforeAll(async () => {
  server = await startFormatProxy({ bodyLimit: '2kb' });
});
afterAll(() => server.close());

const user = [{ role: 'user', content: 'Hello' }];
const big = 'x'.repeat(4096);

type Case = [name: string, body: unknown, status: number, message: RegExp, param?: string | null];

describe('OpenAI chat completions: {error: {message, type, param, code}}', () => {
  const cases: Case[] = [
    ['invalid JSON', '{"model": "text-model",', 400, /not valid JSON/, null],
    ['a body that is not an object', '[1, 2]', 400, /must be a JSON object, not array/, null],
    ['no model', { messages: user }, 400, /^Missing required parameter: 'model'\.$/, 'model'],
    ['messages that are not a list', { model: 'text-model', messages: 'Hello' }, 400, /^Invalid 'messages'/, 'messages'],
    ['no messages', { model: 'text-model', messages: [] }, 400, /at least one message/, 'messages'],
    ['an unknown role', { model: 'text-model', messages: [{ role: 'usr', content: 'Hi' }] }, 400, /Invalid value: 'usr'.*Did you mean "user"\?/, 'messages[0].role'],
    ['a misspelt parameter', { model: 'text-model', messages: user, max_token: 5 }, 400, /^Unrecognized request argument supplied: max_token\. Did you mean "max_tokens"\?$/, 'max_token'],
    ['temperature out of range', { model: 'text-model', messages: user, temperature: 3 }, 400, /^Invalid 'temperature'/, 'temperature'],
    ['a content part of unknown type', { model: 'text-model', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 400, /Invalid value: 'input_audio'/, 'messages[0].content[0].type'],
    ['a tool message with no tool call before it', { model: 'text-model', messages: [...user, { role: 'tool', tool_call_id: 'call_1', content: '42' }] }, 400, /must be a response to a preceeding message with 'tool_calls'/, 'messages.[1].role'],
    ['tool calls left without tool messages', { model: 'text-model', messages: [...user, { role: 'assistant', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'user', content: 'and?' }] }, 400, /did not have response messages: call_9/],
    ['tool_choice naming an undeclared tool', { model: 'text-model', messages: user, tools: [{ type: 'function', function: { name: 'get_weather' } }], tool_choice: { type: 'function', function: { name: 'get_wether' } } }, 400, /no function named 'get_wether'.*Did you mean "get_weather"\?/, 'tool_choice'],
    ['n above 1', { model: 'text-model', messages: user, n: 2 }, 400, /one choice/, 'n'],
    ['a bad response_format', { model: 'text-model', messages: user, response_format: { type: 'yaml' } }, 400, /^Invalid 'response_format'/, 'response_format'],
  ];

  test.each(cases)('%s', async (_name, body, status, message, param) => {
    const response = await server.post('/v1/chat/completions', body);
    expect(response.status).toBe(status);
    const { error } = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(message);
    if (param !== undefined) expect(error.param).toBe(param);
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  test('an unknown model is a 404 with code model_not_found', async () => {
    const response = await server.post('/v1/chat/completions', { model: 'gpt-5', messages: user });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { message: expect.stringMatching(/Model "gpt-5" is not configured.*text-model/), type: 'invalid_request_error', param: null, code: 'model_not_found' },
    });
  });

  test('GET is a 405 naming the allowed method', async () => {
    const response = await fetch(`${server.proxy.url}/v1/chat/completions`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  test('a body over the limit is a 413', async () => {
    const response = await server.post('/v1/chat/completions', { model: 'text-model', messages: [{ role: 'user', content: big }] });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/larger than the limit/);
  });
});

describe('OpenAI responses: {error: {message, type, param, code}}', () => {
  const cases: Case[] = [
    ['no input', { model: 'text-model' }, 400, /^Missing required parameter: 'input'\.$/, 'input'],
    ['a misspelt parameter', { model: 'text-model', input: 'Hi', instruction: 'Be brief' }, 400, /^Unknown parameter: 'instruction'\. Did you mean "instructions"\?$/, 'instruction'],
    ['previous_response_id of a response never stored', { model: 'text-model', input: 'Hi', previous_response_id: 'resp_123' }, 400, /^Previous response with id 'resp_123' not found\./, 'previous_response_id'],
    ['a built-in tool', { model: 'text-model', input: 'Hi', tools: [{ type: 'web_search' }] }, 400, /tools of type 'function' only/, 'tools[0].type'],
    ['a function_call_output with no function_call', { model: 'text-model', input: [{ type: 'function_call_output', call_id: 'call_1', output: '42' }] }, 400, /No tool call found for function call output with call_id call_1/, 'input[0].call_id'],
    ['an input item of unknown type', { model: 'text-model', input: [{ type: 'computer_call_output' }] }, 400, /Invalid value: 'computer_call_output'/, 'input[0].type'],
    ['an unknown role', { model: 'text-model', input: [{ role: 'robot', content: 'Hi' }] }, 400, /Invalid value: 'robot'/, 'input[0].role'],
  ];

  test.each(cases)('%s', async (_name, body, status, message, param) => {
    const response = await server.post('/v1/responses', body);
    expect(response.status).toBe(status);
    const { error } = (await response.json()) as { error: { message: string; type: string; param: string | null } };
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(message);
    expect(error.param).toBe(param);
  });
});

describe('Anthropic messages: {type: "error", error: {type, message}}', () => {
  const base = { model: 'text-model', max_tokens: 100 };
  const cases: Case[] = [
    ['invalid JSON', '{"model": ', 400, /not valid JSON/],
    ['no max_tokens', { model: 'text-model', messages: user }, 400, /^max_tokens: Field required$/],
    ['a system message in messages', { ...base, messages: [{ role: 'system', content: 'Be brief' }, ...user] }, 400, /^messages\.0\.role: Input should be 'user' or 'assistant'\..*top-level "system"/],
    ['an unknown parameter', { ...base, messages: user, stop: ['\n'] }, 400, /^stop: Extra inputs are not permitted/],
    ['temperature above 1', { ...base, messages: user, temperature: 1.5 }, 400, /^temperature: Input should be less than or equal to 1$/],
    ['a tool_result with no tool_use before it', { ...base, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '42' }] }] }, 400, /unexpected `tool_use_id` found in `tool_result` blocks: toolu_1/],
    ['a tool_use left without its tool_result', { ...base, messages: [...user, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'f', input: {} }] }, { role: 'user', content: 'and?' }] }, 400, /`tool_use` ids were found without `tool_result` blocks immediately after: toolu_2/],
    ['a server tool', { ...base, messages: user, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 400, /client tools .* only/],
    ['a document block', { ...base, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 400, /content blocks of type text, image, tool_use and tool_result/],
  ];

  test.each(cases)('%s', async (_name, body, status, message) => {
    const response = await server.post('/v1/messages', body, ANTHROPIC);
    expect(response.status).toBe(status);
    const json = (await response.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toMatch(message);
    expect(json.request_id).toBe(response.headers.get('request-id'));
  });

  test('an unknown model is a 404 not_found_error', async () => {
    const response = await server.post('/v1/messages', { ...base, model: 'claude-9', messages: user }, ANTHROPIC);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
  });

  test('a body over the limit is a 413 request_too_large', async () => {
    const response = await server.post('/v1/messages', { ...base, messages: [{ role: 'user', content: big }] }, ANTHROPIC);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('request_too_large');
  });

  test('an unknown path with anthropic-version answers in Anthropic shape', async () => {
    const response = await server.post('/v1/complete', { prompt: 'hi' }, ANTHROPIC);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

test('without anthropic-version, /v1/messages keeps TokenPak format (the recipe: .content is a string)', async () => {
  const response = await server.post('/v1/messages', { model: 'text-model', messages: user });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { content: unknown }).content).toBe(TEXT);
});

test('after every malformed request the proxy still answers', async () => {
  const response = await server.post('/v1/chat/completions', { model: 'text-model', messages: user });
  expect(response.status).toBe(200);
});
