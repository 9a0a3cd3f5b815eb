/**
 * The OpenAI Chat Completions API (`POST /v1/chat/completions`): requests with
 * system, developer, user, assistant and tool messages, tools, tool_choice and
 * response_format; `chat.completion` answers; `chat.completion.chunk` streams
 * ending with `data: [DONE]`, with a usage chunk when
 * `stream_options.include_usage` is set.
 * https://platform.openai.com/docs/api-reference/chat
 */
import { z } from 'zod';
import type { ChatRequest, ContentPart, Message, ResponseFormat, StopReason, ToolChoice, ToolDefinition } from '../canonical/types.ts';
import { textOf } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { openaiErrorObject, openaiErrorsAndModels, parseOpenAIRequest } from './openai-shared.ts';
import { encodeSSE } from './sse.ts';
import type { WireFormat } from './types.ts';
import { compactId, fieldError, isObject, jsonType, unixSeconds } from './wire-utils.ts';

/** Parameters the API accepts that TokenPak takes but does not act on (they do not change a mock's answer). */
const ACCEPTED_IGNORED = [
  'frequency_penalty', 'logit_bias', 'logprobs', 'metadata', 'moderation', 'parallel_tool_calls', 'prediction',
  'presence_penalty', 'prompt_cache_key', 'prompt_cache_options', 'prompt_cache_retention', 'reasoning_effort',
  'safety_identifier', 'seed', 'service_tier', 'store', 'top_logprobs', 'user', 'verbosity', 'web_search_options',
] as const;

const toolSchema = z.looseObject({
  type: z.literal('function', { error: 'TokenPak supports tools of type "function" only' }),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: 'must be 1 to 64 letters, digits, underscores or dashes' }),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
    z.looseObject({ type: z.literal('allowed_tools'), allowed_tools: z.looseObject({ mode: z.enum(['auto', 'required']) }) }),
  ],
  { error: 'must be "none", "auto", "required", or {"type": "function", "function": {"name": "..."}}' },
);

const responseFormatSchema = z.union(
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      json_schema: z.looseObject({
        name: z.string().min(1),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullish(),
      }),
    }),
  ],
  { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name": "...", "schema": {...}}}' },
);

const requestSchema = z.strictObject({
  model: z.string().min(1, { error: 'must not be empty' }),
  messages: z.array(z.unknown()).min(1, { error: 'must contain at least one message' }),
  max_tokens: z.int().min(1).nullish(),
  max_completion_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.int().min(1).max(1, { error: 'TokenPak returns one choice: set n to 1 or leave it out' }).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)], { error: 'must be a string or a list of up to 4 strings' }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  response_format: responseFormatSchema.nullish(),
  modalities: z.array(z.enum(['text'], { error: 'TokenPak answers with text only; remove "audio"' })).nullish(),
  audio: z.null({ error: 'TokenPak answers with text only; remove audio' }).optional(),
  functions: z.undefined({ error: 'the deprecated functions parameter is not supported; send tools instead' }).optional(),
  function_call: z.undefined({ error: 'the deprecated function_call parameter is not supported; send tool_choice instead' }).optional(),
  ...Object.fromEntries(ACCEPTED_IGNORED.map((key) => [key, z.unknown().optional()])),
});

type OpenAIChatRequest = z.output<typeof requestSchema>;

const KNOWN_KEYS = Object.keys(requestSchema.shape);
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;

function invalidBody(body: unknown): never {
  throw fieldError('', `The request body must be a JSON object, not ${jsonType(body)}. Send {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello"}]}.`);
}

/** Text of a string or a list of text parts (system, developer, tool and assistant content). */
function textContent(content: unknown, param: string, allowRefusal = false): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw fieldError(param, `Invalid type for '${param}': expected a string or an array of text parts, but got ${jsonType(content)} instead.`);
  let text = '';
  content.forEach((part, i) => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(part)} instead.`);
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
    else if (allowRefusal && part.type === 'refusal' && typeof part.refusal === 'string') text += part.refusal;
    else throw fieldError(`${at}.type`, `Invalid value for '${at}': expected {"type": "text", "text": "..."}${allowRefusal ? ' or a refusal part' : ''}.`);
  });
  return text;
}

function userContent(content: unknown, param: string): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw fieldError(param, `Invalid type for '${param}': expected a string or an array of content parts, but got ${jsonType(content)} instead.`);
  return content.map((part, i): ContentPart => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(part)} instead.`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw fieldError(`${at}.text`, `Missing required parameter: '${at}.text'.`);
      return { type: 'text', text: part.text };
    }
    if (part.type === 'image_url') {
      const url = isObject(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string') throw fieldError(`${at}.image_url.url`, `Missing required parameter: '${at}.image_url.url'.`);
      const mediaType = /^data:([^;,]+)/.exec(url)?.[1];
      return { type: 'image', url, ...(mediaType ? { mediaType } : {}) };
    }
    throw fieldError(`${at}.type`, `Invalid value: '${String(part.type)}'. TokenPak supports content parts of type 'text' and 'image_url' (not audio or files).`);
  });
}

function toCanonical(body: OpenAIChatRequest): ChatRequest {
  const systems: string[] = [];
  const messages: Message[] = [];
  // Tool calls still waiting for their tool message, as the API checks.
  let pending = new Set<string>();
  let pendingAt = -1;
  body.messages.forEach((raw, i) => {
    const at = `messages[${i}]`;
    if (!isObject(raw)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(raw)} instead.`);
    const role = raw.role;
    if (typeof role !== 'string') throw fieldError(`${at}.role`, `Missing required parameter: '${at}.role'.`);
    if (role !== 'tool' && pending.size > 0) {
      throw fieldError(`messages.[${pendingAt}].role`, `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`);
    }
    switch (role) {
      case 'system':
      case 'developer':
        systems.push(textContent(raw.content, `${at}.content`));
        break;
      case 'user':
        if (raw.content === undefined) throw fieldError(`${at}.content`, `Missing required parameter: '${at}.content'.`);
        messages.push({ role: 'user', content: userContent(raw.content, `${at}.content`) });
        break;
      case 'assistant': {
        const content: ContentPart[] = [];
        const text = textContent(raw.content, `${at}.content`, true);
        if (text) content.push({ type: 'text', text });
        const calls = raw.tool_calls ?? [];
        if (!Array.isArray(calls)) throw fieldError(`${at}.tool_calls`, `Invalid type for '${at}.tool_calls': expected an array, but got ${jsonType(calls)} instead.`);
        pending = new Set();
        pendingAt = i;
        calls.forEach((call, j) => {
          const callAt = `${at}.tool_calls[${j}]`;
          const fn = isObject(call) ? call.function : undefined;
          if (!isObject(call) || typeof call.id !== 'string' || !isObject(fn) || typeof fn.name !== 'string') {
            throw fieldError(callAt, `Invalid '${callAt}': expected {"id": "...", "type": "function", "function": {"name": "...", "arguments": "..."}}.`);
          }
          const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
          content.push({ type: 'tool-call', id: call.id, name: fn.name, arguments: args });
          pending.add(call.id);
        });
        messages.push({ role: 'assistant', content });
        break;
      }
      case 'tool': {
        const id = raw.tool_call_id;
        if (typeof id !== 'string') throw fieldError(`${at}.tool_call_id`, `Missing required parameter: '${at}.tool_call_id'.`);
        if (!pending.delete(id)) {
          throw fieldError(`messages.[${i}].role`, `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (no earlier tool call has id "${id}").`);
        }
        messages.push({ role: 'tool', content: [{ type: 'tool-result', toolCallId: id, content: textContent(raw.content, `${at}.content`) }] });
        break;
      }
      case 'function':
        throw fieldError(`${at}.role`, `The 'function' role is deprecated and not supported; send a 'tool' message with the tool_call_id instead.`);
      default:
        throw fieldError(`${at}.role`, `Invalid value: '${role}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.${didYouMean(role, ROLES)}`);
    }
  });
  if (pending.size > 0) {
    throw fieldError(`messages.[${pendingAt}].role`, `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`);
  }
  if (messages.length === 0) throw fieldError('messages', `'messages' needs at least one user or assistant message, not only system or developer messages.`);

  const request: ChatRequest = { model: body.model, messages };
  if (systems.length > 0) request.system = systems.join('\n\n');
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) request.maxTokens = maxTokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.stop != null) request.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.tools?.length) {
    request.tools = body.tools.map((tool): ToolDefinition => ({
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      parameters: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  if (body.tool_choice != null) request.toolChoice = toolChoice(body.tool_choice, request.tools ?? []);
  if (body.response_format != null) request.responseFormat = responseFormat(body.response_format);
  return request;
}

function toolChoice(choice: NonNullable<OpenAIChatRequest['tool_choice']>, tools: readonly ToolDefinition[]): ToolChoice {
  if (typeof choice === 'string') {
    if (choice !== 'none' && tools.length === 0) throw fieldError('tool_choice', `Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.`);
    return { type: choice };
  }
  if (choice.type === 'allowed_tools') return { type: choice.allowed_tools.mode };
  const name = choice.function.name;
  if (!tools.some((t) => t.name === name)) {
    throw fieldError('tool_choice', `Invalid value for 'tool_choice': no function named '${name}' was specified in the 'tools' parameter.${didYouMean(name, tools.map((t) => t.name))}`);
  }
  return { type: 'tool', name };
}

function responseFormat(format: NonNullable<OpenAIChatRequest['response_format']>): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type };
  const { name, schema, strict } = format.json_schema;
  return { type: 'json_schema', name, schema: schema ?? {}, ...(strict != null ? { strict } : {}) };
}

/** OpenAI's finish_reason for a canonical stop reason. */
const FINISH_REASONS: Record<StopReason, string> = {
  stop: 'stop',
  length: 'length',
  'tool-calls': 'tool_calls',
  'content-filter': 'content_filter',
};

function usageOf(usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export const openaiChatFormat: WireFormat = {
  name: 'openai-chat',

  parseRequest(body) {
    if (!isObject(body)) invalidBody(body);
    const data = parseOpenAIRequest(requestSchema, body, (problem) => `Unrecognized request argument supplied: ${problem.key}.${didYouMean(problem.key!, KNOWN_KEYS)}`);
    return {
      request: toCanonical(data),
      stream: data.stream === true,
      echo: { includeUsage: data.stream_options?.include_usage === true },
    };
  },

  renderResponse(result, { requestId }) {
    const { response } = result;
    const calls = response.content.filter((p) => p.type === 'tool-call');
    const text = textOf(response.content);
    return {
      id: `chatcmpl-${compactId(requestId)}`,
      object: 'chat.completion',
      created: unixSeconds(),
      model: result.route.name,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text === '' && calls.length > 0 ? null : text,
            refusal: null,
            annotations: [],
            ...(calls.length > 0
              ? { tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) }
              : {}),
          },
          logprobs: null,
          finish_reason: FINISH_REASONS[response.stopReason],
        },
      ],
      usage: usageOf(response.usage),
      service_tier: 'default',
      system_fingerprint: null,
    };
  },

  async *renderStream(stream, { requestId, echo }) {
    const includeUsage = echo?.includeUsage === true;
    const base = { id: `chatcmpl-${compactId(requestId)}`, object: 'chat.completion.chunk', created: unixSeconds(), model: stream.route.name, service_tier: 'default', system_fingerprint: null };
    const chunk = (delta: object, finishReason: string | null = null) =>
      encodeSSE({ data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...(includeUsage ? { usage: null } : {}) } });

    yield chunk({ role: 'assistant', content: '', refusal: null });
    for await (const event of stream.events) {
      switch (event.type) {
        case 'text-delta':
          yield chunk({ content: event.text });
          break;
        case 'tool-call-start':
          yield chunk({ tool_calls: [{ index: event.index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } }] });
          break;
        case 'tool-call-delta':
          yield chunk({ tool_calls: [{ index: event.index, function: { arguments: event.argumentsDelta } }] });
          break;
        case 'finish':
          yield chunk({}, FINISH_REASONS[event.stopReason]);
          if (includeUsage) yield encodeSSE({ data: { ...base, choices: [], usage: usageOf(event.usage) } });
          break;
        case 'error':
          // The API reports a failure mid-stream as a data line holding an error object, then ends without [DONE].
          yield encodeSSE({ data: { error: openaiErrorObject(event.error as TokenPakError) } });
          return;
        default:
          break;
      }
    }
    yield encodeSSE({ data: '[DONE]' });
  },

  ...openaiErrorsAndModels,
};
