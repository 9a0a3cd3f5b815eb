/**
 * The OpenAI Chat Completions API (`POST /v1/chat/completions`): requests with
 * system, developer, user, assistant and tool messages, tools, tool_choice and
 * response_format; `chat.completion` answers; `chat.completion.chunk` streams
 * ending with `data: [DONE]`, with a usage chunk when
 * `stream_options.include_usage` is set.
 *
 * Both directions live here: the client side (requests TokenPak serves, answers it renders)
 * and the upstream side (requests the OpenAI provider sends to OpenAI or any compatible
 * server, answers and chunks it reads back; the wire types there are the official `openai`
 * package's own, imported as types only).
 * https://platform.openai.com/docs/api-reference/chat
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import type {
  ChatRequest,
  ChatResponse,
  ContentPart,
  Message,
  ResponseFormat,
  StopReason,
  StreamEvent,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '../canonical/types.ts';
import { textOf } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { openaiErrorObject, openaiErrorsAndModels, parseOpenAIRequest } from './openai-shared.ts';
import { encodeSSE } from './sse.ts';
import type { WireFormat } from './types.ts';
import { compactId, fieldError, isObject, jsonType, metadataOf, unixSeconds } from './wire-utils.ts';

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
  const metadata = metadataOf((body as { metadata?: unknown }).metadata);
  if (metadata) request.metadata = metadata;
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

/**
 * OpenAI's finish reasons and the canonical ones they stand for, read in both directions: the
 * first entry of a canonical reason is the one TokenPak sends.
 */
const FINISH_REASONS: ReadonlyArray<readonly [string, StopReason]> = [
  ['stop', 'stop'],
  ['length', 'length'],
  ['tool_calls', 'tool-calls'],
  ['function_call', 'tool-calls'],
  ['content_filter', 'content-filter'],
];

/** OpenAI's finish_reason for a canonical stop reason. */
function finishReason(reason: StopReason): string {
  return FINISH_REASONS.find(([, canonical]) => canonical === reason)![0];
}

/** Canonical stop reason of an OpenAI `finish_reason` (unknown ones count as `stop`). */
export function stopReasonOf(finishReason: string | null | undefined): StopReason {
  return FINISH_REASONS.find(([wire]) => wire === finishReason)?.[1] ?? 'stop';
}

/** OpenAI's `usage` for canonical usage. */
function wireUsage(usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }) {
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
          finish_reason: finishReason(response.stopReason),
        },
      ],
      usage: wireUsage(response.usage),
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
          yield chunk({}, finishReason(event.stopReason));
          if (includeUsage) yield encodeSSE({ data: { ...base, choices: [], usage: wireUsage(event.usage) } });
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

// ---------------------------------------------------------------------------
// Upstream direction: canonical → the request sent to OpenAI, and its answer → canonical.

/** Where OpenAI's API is when neither `base_url` nor `OPENAI_BASE_URL` says otherwise. */
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** The message of an OpenAI error body, `{error: {message, type, code}}` (some compatible servers send `{error: "text"}`). */
export function openaiErrorMessage(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const { message, type, code } = error as { message?: unknown; type?: unknown; code?: unknown };
    const kind = [type, code].filter((v) => typeof v === 'string' && v !== '').join('/');
    if (typeof message === 'string') return kind ? `${message} (${kind})` : message;
  }
  return undefined;
}

/**
 * Models that take `max_completion_tokens` and reject `max_tokens`: the
 * reasoning models (o1, o3, o4-mini, …) and GPT-5 and later. Other models get
 * `max_tokens`, which every OpenAI-compatible server understands.
 */
const REASONING_MODELS = /^(?:[\w.-]+\/)?(?:o\d|gpt-5|gpt-6)/;

/** The Chat Completions request body for a canonical request. */
export function toOpenAIRequest(request: ChatRequest, stream: boolean): ChatCompletionCreateParamsBase {
  const body: ChatCompletionCreateParamsBase = { model: request.model, messages: toOpenAIMessages(request) };
  if (request.maxTokens !== undefined) {
    if (REASONING_MODELS.test(request.model)) body.max_completion_tokens = request.maxTokens;
    else body.max_tokens = request.maxTokens;
  }
  // Reasoning models answer 400 to any temperature but the default; a request
  // written for another model (a fallback) still works without it.
  if (!REASONING_MODELS.test(request.model)) {
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
  }
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.parameters,
      },
    }));
  }
  if (request.toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(request.toolChoice);
  const format = request.responseFormat;
  if (format !== undefined) {
    body.response_format =
      format.type === 'json_schema'
        ? {
            type: 'json_schema',
            json_schema: {
              // OpenAI requires a name; clients of other formats may not give one.
              name: format.name ?? 'response',
              schema: format.schema,
              ...(format.strict !== undefined ? { strict: format.strict } : {}),
            },
          }
        : { type: format.type };
  }
  if (stream) {
    body.stream = true;
    // Without this OpenAI streams report no usage, and the call could not be priced.
    body.stream_options = { include_usage: true };
  }
  return body;
}

function toOpenAIToolChoice(choice: NonNullable<ChatRequest['toolChoice']>): ChatCompletionToolChoiceOption {
  return choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type;
}

function toOpenAIMessages(request: ChatRequest): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system !== undefined && request.system !== '') messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) {
    if (message.role === 'assistant') {
      const text = message.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
      const calls = message.content.filter((p): p is ToolCallPart => p.type === 'tool-call');
      messages.push({
        role: 'assistant',
        content: text === '' && calls.length > 0 ? null : text,
        ...(calls.length > 0
          ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      });
      continue;
    }
    // Tool results (from a `tool` message, or inside a user message as Anthropic
    // clients send them) become `tool` messages, which must come straight after
    // the assistant's tool calls, so ahead of any user text in the same turn.
    const parts: ChatCompletionContentPart[] = [];
    for (const part of message.content) {
      if (part.type === 'tool-result') {
        messages.push({ role: 'tool', tool_call_id: part.toolCallId, content: part.content });
      } else if (part.type === 'text') {
        parts.push({ type: 'text', text: part.text });
      } else if (part.type === 'image') {
        parts.push({ type: 'image_url', image_url: { url: part.url } });
      }
    }
    if (parts.length === 0) continue;
    const onlyText = parts.every((p) => p.type === 'text');
    messages.push({
      role: 'user',
      content: onlyText ? parts.map((p) => (p as { text: string }).text).join('') : parts,
    });
  }
  return messages;
}

/** Canonical usage of OpenAI's `usage`; cached prompt tokens are part of `prompt_tokens`. */
export function usageOf(usage: ChatCompletion['usage'] | null | undefined): Usage {
  const result: Usage = { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 };
  const cached = usage?.prompt_tokens_details?.cached_tokens;
  if (cached) result.cachedInputTokens = cached;
  return result;
}

/** Reads a `chat.completion` body; throws a TypeError naming what is missing when it is not one. */
export function fromOpenAIResponse(body: unknown): ChatResponse {
  const completion = body as ChatCompletion;
  const choice = completion?.choices?.[0];
  if (!choice?.message) throw new TypeError('the answer has no choices[0].message');
  const content: Array<TextPart | ToolCallPart> = [];
  const text = choice.message.content ?? choice.message.refusal ?? '';
  if (text !== '') content.push({ type: 'text', text });
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type === 'function') content.push({ type: 'tool-call', id: call.id, name: call.function.name, arguments: call.function.arguments });
  }
  return {
    id: completion.id ?? '',
    model: completion.model ?? '',
    content,
    stopReason: choice.message.refusal && !choice.message.content ? 'content-filter' : stopReasonOf(choice.finish_reason),
    usage: usageOf(completion.usage),
  };
}

/**
 * Turns `chat.completion.chunk` objects into canonical stream events. OpenAI
 * sends the finish reason in one chunk and the usage in a later one (with no
 * choices), then `[DONE]`: the `finish` event waits for the end.
 */
export class OpenAIStreamDecoder {
  #started = false;
  #finishReason: string | null = null;
  #usage: Usage | undefined;
  /** Tool calls by OpenAI's index → our index, in order of appearance. */
  readonly #tools = new Map<number, number>();
  readonly #open = new Set<number>();

  /** Whether a finish reason has been seen. */
  get finished(): boolean {
    return this.#finishReason !== null;
  }

  /** Whether usage has been seen. */
  get hasUsage(): boolean {
    return this.#usage !== undefined;
  }

  /** Events for one chunk. */
  *chunk(chunk: ChatCompletionChunk): Generator<StreamEvent> {
    if (!this.#started) {
      this.#started = true;
      yield { type: 'start', id: chunk.id ?? '', model: chunk.model ?? '' };
    }
    if (chunk.usage) this.#usage = usageOf(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const delta = choice.delta ?? {};
    if (delta.content) yield { type: 'text-delta', text: delta.content };
    else if (delta.refusal) yield { type: 'text-delta', text: delta.refusal };
    for (const call of delta.tool_calls ?? []) {
      let index = this.#tools.get(call.index);
      if (index === undefined) {
        index = this.#tools.size;
        this.#tools.set(call.index, index);
        this.#open.add(index);
        yield { type: 'tool-call-start', index, id: call.id ?? `call_${index}`, name: call.function?.name ?? '' };
      }
      if (call.function?.arguments) yield { type: 'tool-call-delta', index, argumentsDelta: call.function.arguments };
    }
    if (choice.finish_reason) {
      this.#finishReason = choice.finish_reason;
      yield* this.#closeTools();
    }
  }

  /** The closing events, once the stream has ended. */
  *end(): Generator<StreamEvent> {
    yield* this.#closeTools();
    yield { type: 'finish', stopReason: stopReasonOf(this.#finishReason), usage: this.#usage ?? { inputTokens: 0, outputTokens: 0 } };
  }

  *#closeTools(): Generator<StreamEvent> {
    for (const index of this.#open) yield { type: 'tool-call-end', index };
    this.#open.clear();
  }
}
