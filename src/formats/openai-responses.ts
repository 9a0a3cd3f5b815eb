/**
 * The OpenAI Responses API (`POST /v1/responses`): `input` as a string or as
 * items (messages, function calls and their outputs), `instructions`, function
 * tools and `text.format`; `response` objects with `message` and
 * `function_call` output items; streams from `response.created` to
 * `response.completed`, each event with its `sequence_number`.
 * `previous_response_id` continues a conversation TokenPak keeps in memory
 * (`store`, default true, keeps each answer); the Conversations API
 * (`conversation`) and `item_reference` inputs are refused with a 400 that
 * says to send the items instead.
 * https://platform.openai.com/docs/api-reference/responses
 */
import { z } from 'zod';
import type { ChatRequest, ContentPart, Message, ResponseFormat, StopReason, TextPart, ToolCallPart, ToolChoice, ToolDefinition, Usage } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { openaiErrorObject, openaiErrorsAndModels, parseOpenAIRequest } from './openai-shared.ts';
import { encodeSSE } from './sse.ts';
import type { WireFormat } from './types.ts';
import { compactId, fieldError, isObject, jsonType, metadataOf, unixSeconds } from './wire-utils.ts';

const ACCEPTED_IGNORED = [
  'access_programs', 'context_management', 'image', 'include', 'max_tool_calls', 'moderation',
  'prompt_cache_key', 'prompt_cache_options', 'prompt_cache_retention', 'reasoning',
  'safety_identifier', 'service_tier', 'stream_options', 'top_logprobs', 'truncation', 'user',
] as const;

const NOT_STORED = 'TokenPak keeps no Conversations API objects or items; send the items in input (or continue with previous_response_id) instead';

const formatSchema = z.union(
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      name: z.string().min(1),
      schema: z.record(z.string(), z.unknown()),
      description: z.string().optional(),
      strict: z.boolean().nullish(),
    }),
  ],
  { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "name": "...", "schema": {...}}' },
);

const toolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), name: z.string() }),
    z.looseObject({ type: z.literal('allowed_tools'), mode: z.enum(['auto', 'required']) }),
  ],
  { error: 'must be "none", "auto", "required", or {"type": "function", "name": "..."}' },
);

const requestSchema = z.strictObject({
  model: z.string().min(1, { error: 'must not be empty' }),
  input: z.union([z.string(), z.array(z.unknown()).min(1, { error: 'must contain at least one item' })], { error: 'must be a string or a list of input items' }),
  instructions: z.string().nullish(),
  max_output_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  text: z.looseObject({ format: formatSchema.optional(), verbosity: z.string().nullish() }).nullish(),
  previous_response_id: z.string().min(1, { error: 'must not be empty' }).nullish(),
  conversation: z.null({ error: NOT_STORED }).optional(),
  prompt: z.null({ error: 'TokenPak has no stored prompts; send instructions and input instead' }).optional(),
  background: z.union([z.literal(false), z.null()], { error: 'TokenPak answers in the foreground only; leave background out' }).optional(),
  ...Object.fromEntries(ACCEPTED_IGNORED.map((key) => [key, z.unknown().optional()])),
});

type ResponsesRequest = z.output<typeof requestSchema>;

/** `POST /v1/responses/input_tokens` takes the request as it would be sent (TokenPak needs `model` and `input`), plus `personality`. */
const countSchema = requestSchema.extend({ personality: z.string().nullish() });
const KNOWN_KEYS = Object.keys(requestSchema.shape);

function invalidBody(body: unknown): never {
  throw fieldError('', `The request body must be a JSON object, not ${jsonType(body)}. Send {"model": "gpt-4", "input": "Hello"}.`);
}

function messageParts(content: unknown, param: string, role: string): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw fieldError(param, `Invalid type for '${param}': expected a string or an array of content parts, but got ${jsonType(content)} instead.`);
  return content.map((part, i): ContentPart => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(part)} instead.`);
    if (part.type === 'input_text' || part.type === 'output_text') {
      if (typeof part.text !== 'string') throw fieldError(`${at}.text`, `Missing required parameter: '${at}.text'.`);
      return { type: 'text', text: part.text };
    }
    if (part.type === 'refusal' && typeof part.refusal === 'string') return { type: 'text', text: part.refusal };
    if (part.type === 'input_image' && role === 'user') {
      if (typeof part.image_url !== 'string') throw fieldError(`${at}.image_url`, `'${at}.image_url' is required: TokenPak takes images by URL or data URL, not file_id.`);
      const mediaType = /^data:([^;,]+)/.exec(part.image_url)?.[1];
      return { type: 'image', url: part.image_url, ...(mediaType ? { mediaType } : {}) };
    }
    throw fieldError(`${at}.type`, `Invalid value: '${String(part.type)}'. TokenPak supports content parts of type 'input_text' and 'input_image' (user), 'output_text' and 'refusal' (assistant); not files or audio.`);
  });
}

/** Appends parts to the last message when it has the same role (function calls join their assistant turn). */
function push(messages: Message[], role: Message['role'], parts: ContentPart[]): void {
  const last = messages.at(-1);
  if (last && last.role === role && role !== 'user') last.content.push(...parts);
  else messages.push({ role, content: parts });
}

/**
 * `continues`: the request continues a stored response, whose function calls
 * its outputs may answer; the server checks those against the stored history.
 */
function inputToMessages(input: ResponsesRequest['input'], systems: string[], continues: boolean): Message[] {
  if (typeof input === 'string') return [{ role: 'user', content: [{ type: 'text', text: input }] }];
  const messages: Message[] = [];
  const calls = new Set<string>();
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(item)} instead.`);
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = item.role;
        if (role === 'system' || role === 'developer') {
          systems.push(messageParts(item.content, `${at}.content`, role).map((p) => (p.type === 'text' ? p.text : '')).join(''));
        } else if (role === 'user' || role === 'assistant') {
          if (item.content === undefined) throw fieldError(`${at}.content`, `Missing required parameter: '${at}.content'.`);
          push(messages, role, messageParts(item.content, `${at}.content`, role));
        } else {
          throw fieldError(`${at}.role`, `Invalid value: '${String(role)}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.${typeof role === 'string' ? didYouMean(role, ['user', 'assistant', 'system', 'developer']) : ''}`);
        }
        break;
      }
      case 'function_call': {
        const { call_id: callId, name, arguments: args } = item;
        if (typeof callId !== 'string' || typeof name !== 'string' || typeof args !== 'string') {
          throw fieldError(at, `Invalid '${at}': a function_call item needs string call_id, name and arguments.`);
        }
        calls.add(callId);
        push(messages, 'assistant', [{ type: 'tool-call', id: callId, name, arguments: args }]);
        break;
      }
      case 'function_call_output': {
        const callId = item.call_id;
        if (typeof callId !== 'string') throw fieldError(`${at}.call_id`, `Missing required parameter: '${at}.call_id'.`);
        if (!calls.has(callId) && !continues) throw fieldError(`${at}.call_id`, `No tool call found for function call output with call_id ${callId}.`);
        const output = typeof item.output === 'string' ? item.output : messageParts(item.output, `${at}.output`, 'user').map((p) => (p.type === 'text' ? p.text : '')).join('');
        push(messages, 'tool', [{ type: 'tool-result', toolCallId: callId, content: output }]);
        break;
      }
      case 'reasoning':
        // Reasoning items from an earlier turn carry nothing a mock or another provider can use.
        break;
      case 'item_reference':
        throw fieldError(`${at}.type`, `${NOT_STORED}.`);
      default:
        throw fieldError(`${at}.type`, `Invalid value: '${String(type)}'. TokenPak supports input items of type 'message', 'function_call', 'function_call_output' and 'reasoning'.`);
    }
  });
  return messages;
}

function tools(raw: readonly unknown[]): ToolDefinition[] {
  return raw.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool)) throw fieldError(at, `Invalid type for '${at}': expected an object, but got ${jsonType(tool)} instead.`);
    if (tool.type !== 'function') throw fieldError(`${at}.type`, `Invalid value: '${String(tool.type)}'. TokenPak supports tools of type 'function' only (no built-in tools).`);
    if (typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) {
      throw fieldError(`${at}.name`, `Invalid '${at}.name': must be 1 to 64 letters, digits, underscores or dashes.`);
    }
    return {
      name: tool.name,
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      parameters: isObject(tool.parameters) ? tool.parameters : { type: 'object', properties: {} },
    };
  });
}

function toCanonical(body: ResponsesRequest): ChatRequest {
  const systems: string[] = body.instructions ? [body.instructions] : [];
  const messages = inputToMessages(body.input, systems, body.previous_response_id != null);
  if (messages.length === 0) throw fieldError('input', `'input' needs at least one user or assistant item, not only system or developer messages.`);
  const request: ChatRequest = { model: body.model, messages };
  if (systems.length > 0) request.system = systems.join('\n\n');
  if (body.max_output_tokens != null) request.maxTokens = body.max_output_tokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.tools?.length) request.tools = tools(body.tools);
  if (body.tool_choice != null) request.toolChoice = toolChoice(body.tool_choice, request.tools ?? []);
  const format = body.text?.format;
  if (format) request.responseFormat = responseFormat(format);
  const metadata = metadataOf((body as { metadata?: unknown }).metadata);
  if (metadata) request.metadata = metadata;
  return request;
}

function toolChoice(choice: NonNullable<ResponsesRequest['tool_choice']>, defined: readonly ToolDefinition[]): ToolChoice {
  if (typeof choice === 'string') return { type: choice };
  if (choice.type === 'allowed_tools') return { type: choice.mode };
  if (!defined.some((t) => t.name === choice.name)) {
    throw fieldError('tool_choice', `Invalid value for 'tool_choice': no function named '${choice.name}' was specified in the 'tools' parameter.${didYouMean(choice.name, defined.map((t) => t.name))}`);
  }
  return { type: 'tool', name: choice.name };
}

function responseFormat(format: z.output<typeof formatSchema>): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type };
  return { type: 'json_schema', name: format.name, schema: format.schema, ...(format.strict != null ? { strict: format.strict } : {}) };
}

/** The request settings a `response` object repeats, with the API's defaults. */
function echoOf(body: ResponsesRequest): Record<string, unknown> {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' }, verbosity: body.text?.verbosity ?? 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    metadata: body.metadata ?? {},
    previous_response_id: body.previous_response_id ?? null,
  };
}

function usageOf(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** A `response` object. */
function responseObject(options: {
  id: string;
  createdAt: number;
  model: string;
  status: Status;
  output: unknown[];
  usage: Usage | null;
  echo: Record<string, unknown> | undefined;
  error?: unknown;
}) {
  const echo = options.echo ?? {};
  const done = options.status !== 'in_progress';
  return {
    id: options.id,
    object: 'response',
    created_at: options.createdAt,
    status: options.status,
    background: false,
    completed_at: options.status === 'completed' ? unixSeconds() : null,
    error: options.error ?? null,
    incomplete_details: options.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions ?? null,
    max_output_tokens: echo.max_output_tokens ?? null,
    max_tool_calls: null,
    model: options.model,
    output: options.output,
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    previous_response_id: echo.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: echo.store ?? true,
    temperature: echo.temperature ?? 1,
    text: echo.text ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_logprobs: 0,
    top_p: echo.top_p ?? 1,
    truncation: 'disabled',
    usage: done && options.usage ? usageOf(options.usage) : null,
    user: null,
    metadata: echo.metadata ?? {},
  };
}

function statusOf(stopReason: StopReason): Status {
  return stopReason === 'length' ? 'incomplete' : 'completed';
}

const outputText = (text: string) => ({ type: 'output_text', annotations: [], logprobs: [], text });

function messageItem(id: string, text: string, status: 'in_progress' | 'completed' | 'incomplete') {
  return { id, type: 'message', status, content: status === 'in_progress' ? [] : [outputText(text)], role: 'assistant' };
}

function functionCallItem(id: string, call: { id: string; name: string }, args: string, status: 'in_progress' | 'completed') {
  return { id, type: 'function_call', status, arguments: args, call_id: call.id, name: call.name };
}

/** Output items of a complete answer: consecutive text becomes one message item, each tool call a function_call item. */
function outputItems(content: ReadonlyArray<TextPart | ToolCallPart>, cid: string, itemStatus: 'completed' | 'incomplete') {
  const items: unknown[] = [];
  for (const part of content) {
    const index = items.length;
    if (part.type === 'text') items.push(messageItem(`msg_${cid}_${index}`, part.text, itemStatus));
    else items.push(functionCallItem(`fc_${cid}_${index}`, part, part.arguments, 'completed'));
  }
  return items;
}

export const openaiResponsesFormat: WireFormat = {
  name: 'openai-responses',

  parseRequest(body) {
    if (!isObject(body)) invalidBody(body);
    const data = parseOpenAIRequest(requestSchema, body, (problem) => `Unknown parameter: '${problem.param}'.${didYouMean(problem.key!, KNOWN_KEYS)}`);
    return {
      request: toCanonical(data),
      stream: data.stream === true,
      echo: echoOf(data),
      conversation: { kind: 'responses', store: data.store !== false, ...(data.previous_response_id ? { previousId: data.previous_response_id } : {}) },
    };
  },

  parseCountRequest(body) {
    if (!isObject(body)) invalidBody(body);
    const data = parseOpenAIRequest(countSchema, body, (problem) => `Unknown parameter: '${problem.param}'.${didYouMean(problem.key!, KNOWN_KEYS)}`);
    return {
      request: toCanonical(data),
      stream: false,
      ...(data.previous_response_id ? { conversation: { kind: 'responses', store: false, previousId: data.previous_response_id } } : {}),
    };
  },

  renderCount: (inputTokens) => ({ object: 'response.input_tokens', input_tokens: inputTokens }),

  responseId: ({ requestId }) => `resp_${compactId(requestId)}`,

  renderResponse(result, { requestId, echo }) {
    const cid = compactId(requestId);
    const status = statusOf(result.response.stopReason);
    return responseObject({
      id: `resp_${cid}`,
      createdAt: unixSeconds(),
      model: result.route.name,
      status,
      output: outputItems(result.response.content, cid, status === 'incomplete' ? 'incomplete' : 'completed'),
      usage: result.response.usage,
      echo,
    });
  },

  async *renderStream(stream, { requestId, echo }) {
    const cid = compactId(requestId);
    const id = `resp_${cid}`;
    const createdAt = unixSeconds();
    const model = stream.route.name;
    let sequence = 0;
    const emit = (type: string, data: Record<string, unknown>) => encodeSSE({ event: type, data: { type, ...data, sequence_number: sequence++ } });
    const output: unknown[] = [];
    // The message item being streamed, if any.
    let message: { id: string; index: number; text: string } | undefined;
    const calls = new Map<number, { id: string; index: number; call: { id: string; name: string }; args: string }>();

    const closeMessage = function* (itemStatus: 'completed' | 'incomplete') {
      if (!message) return;
      const { id: itemId, index, text } = message;
      yield emit('response.output_text.done', { item_id: itemId, output_index: index, content_index: 0, text, logprobs: [] });
      yield emit('response.content_part.done', { item_id: itemId, output_index: index, content_index: 0, part: outputText(text) });
      const item = messageItem(itemId, text, itemStatus);
      output[index] = item;
      yield emit('response.output_item.done', { output_index: index, item });
      message = undefined;
    };

    yield emit('response.created', { response: responseObject({ id, createdAt, model, status: 'in_progress', output: [], usage: null, echo }) });
    yield emit('response.in_progress', { response: responseObject({ id, createdAt, model, status: 'in_progress', output: [], usage: null, echo }) });

    for await (const event of stream.events) {
      switch (event.type) {
        case 'text-delta': {
          if (!message) {
            const index = output.length;
            message = { id: `msg_${cid}_${index}`, index, text: '' };
            output.push(messageItem(message.id, '', 'in_progress'));
            yield emit('response.output_item.added', { output_index: index, item: messageItem(message.id, '', 'in_progress') });
            yield emit('response.content_part.added', { item_id: message.id, output_index: index, content_index: 0, part: outputText('') });
          }
          message.text += event.text;
          yield emit('response.output_text.delta', { item_id: message.id, output_index: message.index, content_index: 0, delta: event.text, logprobs: [] });
          break;
        }
        case 'tool-call-start': {
          yield* closeMessage('completed');
          const index = output.length;
          const entry = { id: `fc_${cid}_${index}`, index, call: { id: event.id, name: event.name }, args: '' };
          calls.set(event.index, entry);
          const item = functionCallItem(entry.id, entry.call, '', 'in_progress');
          output.push(item);
          yield emit('response.output_item.added', { output_index: index, item });
          break;
        }
        case 'tool-call-delta': {
          const entry = calls.get(event.index);
          if (!entry) break;
          entry.args += event.argumentsDelta;
          yield emit('response.function_call_arguments.delta', { item_id: entry.id, output_index: entry.index, delta: event.argumentsDelta });
          break;
        }
        case 'tool-call-end': {
          const entry = calls.get(event.index);
          if (!entry) break;
          yield emit('response.function_call_arguments.done', { item_id: entry.id, output_index: entry.index, name: entry.call.name, arguments: entry.args });
          const item = functionCallItem(entry.id, entry.call, entry.args, 'completed');
          output[entry.index] = item;
          yield emit('response.output_item.done', { output_index: entry.index, item });
          break;
        }
        case 'finish': {
          const status = statusOf(event.stopReason);
          yield* closeMessage(status === 'incomplete' ? 'incomplete' : 'completed');
          const type = status === 'incomplete' ? 'response.incomplete' : 'response.completed';
          yield emit(type, { response: responseObject({ id, createdAt, model, status, output, usage: event.usage, echo }) });
          break;
        }
        case 'error': {
          const error = openaiErrorObject(event.error as TokenPakError);
          yield emit('error', { code: error.code ?? error.type, message: error.message, param: error.param });
          const failed = responseObject({ id, createdAt, model, status: 'failed', output, usage: null, echo, error: { code: 'server_error', message: error.message } });
          yield emit('response.failed', { response: failed });
          return;
        }
        default:
          break;
      }
    }
  },

  ...openaiErrorsAndModels,
};

/**
 * The body of an upstream `POST /responses/input_tokens` for a canonical
 * request: its input items, instructions and function tools.
 */
export function toResponsesInputTokensRequest(request: ChatRequest): Record<string, unknown> {
  const input: unknown[] = [];
  for (const message of request.messages) {
    const parts: unknown[] = [];
    const flush = () => {
      if (parts.length > 0) input.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content: parts.splice(0) });
    };
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          parts.push({ type: message.role === 'assistant' ? 'output_text' : 'input_text', text: part.text });
          break;
        case 'image':
          parts.push({ type: 'input_image', image_url: part.url });
          break;
        case 'tool-call':
          flush();
          input.push({ type: 'function_call', call_id: part.id, name: part.name, arguments: part.arguments });
          break;
        case 'tool-result':
          flush();
          input.push({ type: 'function_call_output', call_id: part.toolCallId, output: part.content });
          break;
      }
    }
    flush();
  }
  const body: Record<string, unknown> = { model: request.model, input };
  if (request.system) body.instructions = request.system;
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({ type: 'function', name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.parameters }));
  }
  return body;
}
