/**
 * Each wire format's request → the one canonical ChatRequest: roles, content
 * parts, tool calls and results, tools, tool choice, response formats and
 * token limits.
 */
import { describe, expect, test } from 'vitest';
import { anthropicMessagesFormat } from '../../src/formats/anthropic-messages.ts';
import { openaiChatFormat } from '../../src/formats/openai-chat.ts';
import { openaiResponsesFormat } from '../../src/formats/openai-responses.ts';

const headers = new Headers();
const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const png = 'data:image/png;base64,iVBORw0KGgo=';

describe('OpenAI chat completions', () => {
  test('system and developer messages become the system prompt; parts, tool calls and tool results map over', () => {
    const { request, stream, echo } = openaiChatFormat.parseRequest(
      {
        model: 'gpt-4',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Use metric units.' }] },
          { role: 'user', content: [{ type: 'text', text: 'Weather here?' }, { type: 'image_url', image_url: { url: png, detail: 'low' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '4 degrees' }] },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: schema, strict: true } }],
        tool_choice: 'required',
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
        max_tokens: 50,
        max_completion_tokens: 100,
        temperature: 0.5,
        stop: 'END',
        stream: true,
        stream_options: { include_usage: true },
        user: 'someone',
        seed: 7,
      },
      headers,
    );
    expect(stream).toBe(true);
    expect(echo).toEqual({ includeUsage: true });
    expect(request).toEqual({
      model: 'gpt-4',
      system: 'Be brief.\n\nUse metric units.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather here?' }, { type: 'image', url: png, mediaType: 'image/png' }] },
        { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: '4 degrees' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', parameters: schema }],
      toolChoice: { type: 'required' },
      responseFormat: { type: 'json_schema', name: 'answer', schema, strict: true },
      maxTokens: 100,
      temperature: 0.5,
      stop: ['END'],
    });
  });

  test('a named tool choice and json_object map over; max_tokens alone is the limit', () => {
    const { request } = openaiChatFormat.parseRequest(
      {
        model: 'gpt-4',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_object' },
        max_tokens: 20,
      },
      headers,
    );
    expect(request.toolChoice).toEqual({ type: 'tool', name: 'f' });
    expect(request.responseFormat).toEqual({ type: 'json_object' });
    expect(request.maxTokens).toBe(20);
    expect(request.tools).toEqual([{ name: 'f', parameters: { type: 'object', properties: {} } }]);
  });
});

describe('OpenAI responses', () => {
  test('a string input is one user message; instructions are the system prompt', () => {
    const { request, stream } = openaiResponsesFormat.parseRequest({ model: 'gpt-4', input: 'Hi', instructions: 'Be brief.', max_output_tokens: 64 }, headers);
    expect(stream).toBe(false);
    expect(request).toEqual({ model: 'gpt-4', system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], maxTokens: 64 });
  });

  test('input items: messages, an assistant turn with its function call, and the call output', () => {
    const { request, echo } = openaiResponsesFormat.parseRequest(
      {
        model: 'gpt-4',
        input: [
          { role: 'developer', content: 'Use metric units.' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather?' }, { type: 'input_image', image_url: png }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'function_call_output', call_id: 'call_1', output: '4 degrees' },
        ],
        tools: [{ type: 'function', name: 'get_weather', parameters: schema, strict: true }],
        tool_choice: { type: 'function', name: 'get_weather' },
        text: { format: { type: 'json_schema', name: 'answer', schema } },
        temperature: 0.3,
      },
      headers,
    );
    expect(request).toEqual({
      model: 'gpt-4',
      system: 'Use metric units.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', url: png, mediaType: 'image/png' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: '4 degrees' }] },
      ],
      tools: [{ name: 'get_weather', parameters: schema }],
      toolChoice: { type: 'tool', name: 'get_weather' },
      responseFormat: { type: 'json_schema', name: 'answer', schema },
      temperature: 0.3,
    });
    // The response object repeats the request's settings.
    expect(echo).toMatchObject({ temperature: 0.3, tool_choice: { type: 'function', name: 'get_weather' }, text: { format: { type: 'json_schema' } } });
  });
});

describe('Anthropic messages', () => {
  test('system blocks, images, tool_use and tool_result (split out as a tool turn) map over', () => {
    const { request, stream } = anthropicMessagesFormat.parseRequest(
      {
        model: 'claude-3-sonnet',
        max_tokens: 256,
        system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Use metric units.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
          { role: 'assistant', content: [{ type: 'thinking', thinking: '...', signature: 's' }, { type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '4 degrees' }] }, { type: 'text', text: 'And tomorrow?' }] },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: schema }],
        tool_choice: { type: 'any' },
        stop_sequences: ['END'],
        temperature: 0.2,
        stream: true,
        metadata: { user_id: 'u1' },
      },
      headers,
    );
    expect(stream).toBe(true);
    expect(request).toEqual({
      model: 'claude-3-sonnet',
      maxTokens: 256,
      system: 'Be brief.\n\nUse metric units.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', url: png, mediaType: 'image/png' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool-call', id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'toolu_1', content: '4 degrees' }] },
        { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', parameters: schema }],
      toolChoice: { type: 'required' },
      stop: ['END'],
      temperature: 0.2,
      metadata: { user_id: 'u1' },
    });
  });

  test('output_config.format is a JSON-schema response format; a named tool choice maps over', () => {
    const { request } = anthropicMessagesFormat.parseRequest(
      {
        model: 'claude-3-sonnet',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ name: 'f', input_schema: { type: 'object' } }],
        tool_choice: { type: 'tool', name: 'f' },
        output_config: { format: { type: 'json_schema', schema } },
      },
      headers,
    );
    expect(request.responseFormat).toEqual({ type: 'json_schema', schema });
    expect(request.toolChoice).toEqual({ type: 'tool', name: 'f' });
  });
});
