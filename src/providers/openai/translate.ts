/**
 * Canonical ⇄ OpenAI Chat Completions, in the upstream direction: the request
 * TokenPak sends to OpenAI (or any OpenAI-compatible server), and the answer
 * and stream chunks it reads back. The wire types are the official `openai`
 * package's own (type-only imports: nothing of the SDK runs).
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ChatRequest, ChatResponse, StopReason, StreamEvent, TextPart, ToolCallPart, Usage } from '../../canonical/types.ts';

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

const STOP_REASONS: Record<string, StopReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
};

/** Canonical stop reason of an OpenAI `finish_reason` (unknown ones count as `stop`). */
export function stopReasonOf(finishReason: string | null | undefined): StopReason {
  return (finishReason && STOP_REASONS[finishReason]) || 'stop';
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
