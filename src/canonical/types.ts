/**
 * The one request, response and stream-event model used inside TokenPak.
 * Wire formats (TokenPak's own, OpenAI Chat Completions and Responses,
 * Anthropic Messages) are converted to and from these types at the edge, in
 * `src/formats/`, so that any client format can reach any provider.
 */

/** Plain text. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image given by URL or base64 data (passed through to providers that accept images). */
export interface ImagePart {
  type: 'image';
  /** An `https:` or `data:` URL. */
  url: string;
  /** MIME type when known, for example `image/png`. */
  mediaType?: string;
}

/** A call of a client-defined tool, made by the assistant. */
export interface ToolCallPart {
  type: 'tool-call';
  /** Provider-unique id that the matching {@link ToolResultPart} refers to. */
  id: string;
  /** Name of the tool, as declared in {@link ChatRequest.tools}. */
  name: string;
  /** Arguments as a JSON text (as the model produced it; not necessarily valid JSON). */
  arguments: string;
}

/** The result of a tool call, sent back by the client. */
export interface ToolResultPart {
  type: 'tool-result';
  /** Id of the {@link ToolCallPart} this answers. */
  toolCallId: string;
  /** Result content as text. */
  content: string;
  /** True when the tool failed. */
  isError?: boolean;
}

/** A piece of message content. */
export type ContentPart = TextPart | ImagePart | ToolCallPart | ToolResultPart;

/** Who wrote a message. System prompts live in {@link ChatRequest.system}. */
export type Role = 'user' | 'assistant' | 'tool';

/** One turn of the conversation. */
export interface Message {
  role: Role;
  content: ContentPart[];
}

/** A tool the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** Whether and which tool the model must call. */
export type ToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  | { type: 'required' }
  | { type: 'tool'; name: string };

/** The shape the answer must take. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name?: string; schema: Record<string, unknown>; strict?: boolean };

/** A chat request, whatever wire format it arrived in. */
export interface ChatRequest {
  /**
   * The model name. At the router this is the route name the client asked
   * for; a provider receives the upstream model name of its route.
   */
  model: string;
  /** System prompt (OpenAI system/developer messages and Anthropic `system`, joined). */
  system?: string;
  /** The conversation, oldest first. */
  messages: Message[];
  /** Upper bound on generated tokens. */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** Stop sequences. */
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  /** The request's `metadata` (OpenAI `metadata`, Anthropic `metadata.user_id`), values as text; mock rules can match on it. */
  metadata?: Record<string, string>;
}

/** Read access to a client request's headers. */
export interface RequestHeaders {
  /** The header's value, or null when absent; `name` in any case. */
  get(name: string): string | null;
}

/** Why generation stopped. */
export type StopReason = 'stop' | 'length' | 'tool-calls' | 'content-filter';

/** Token counts of one call. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache, when reported. */
  cachedInputTokens?: number;
}

/** A complete answer from a provider. */
export interface ChatResponse {
  /** Provider's response id (or a generated one). */
  id: string;
  /** Upstream model that answered. */
  model: string;
  /** Text and tool calls, in order. */
  content: Array<TextPart | ToolCallPart>;
  stopReason: StopReason;
  /** The stop sequence that ended the answer, when one did (`stopReason` is then `stop`). */
  stopSequence?: string;
  usage: Usage;
  /**
   * What the provider changed about its answer and why, for the call record
   * (the mock: a canned answer replaced to meet the request's demands).
   */
  warnings?: string[];
}

/**
 * One event of a streamed answer. A stream is `start`, then any number of
 * text and tool-call events, then exactly one `finish` (or an `error`).
 */
export type StreamEvent =
  /** `inputTokens` when the provider knows them up front (Anthropic's `message_start` reports them). */
  | { type: 'start'; id: string; model: string; inputTokens?: number }
  | { type: 'text-delta'; text: string }
  /** A tool call begins; `index` orders tool calls within the answer. */
  | { type: 'tool-call-start'; index: number; id: string; name: string }
  /** A fragment of the JSON arguments of the tool call at `index`. */
  | { type: 'tool-call-delta'; index: number; argumentsDelta: string }
  | { type: 'tool-call-end'; index: number }
  | { type: 'finish'; stopReason: StopReason; usage: Usage; stopSequence?: string; warnings?: string[] }
  | { type: 'error'; error: Error };

/** The text of a message or answer, its text parts joined. */
export function textOf(content: readonly ContentPart[]): string {
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

/** The text of the last user message, which mock patterns are matched against. */
export function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role === 'user') return textOf(message.content);
  }
  return '';
}

/**
 * Builds the complete answer from stream events as they pass, for the call
 * log and for clients that asked for a stream from a format that wants one
 * object.
 */
export class StreamAccumulator {
  id = '';
  model = '';
  /** The `finish` event, once seen. */
  finish: Extract<StreamEvent, { type: 'finish' }> | undefined;
  readonly #content: Array<TextPart | ToolCallPart> = [];
  readonly #calls = new Map<number, ToolCallPart>();

  constructor(model = '') {
    this.model = model;
  }

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'start':
        this.id = event.id;
        if (event.model) this.model = event.model;
        break;
      case 'text-delta': {
        const last = this.#content.at(-1);
        if (last?.type === 'text') last.text += event.text;
        else this.#content.push({ type: 'text', text: event.text });
        break;
      }
      case 'tool-call-start': {
        const call: ToolCallPart = { type: 'tool-call', id: event.id, name: event.name, arguments: '' };
        this.#calls.set(event.index, call);
        this.#content.push(call);
        break;
      }
      case 'tool-call-delta': {
        const call = this.#calls.get(event.index);
        if (call) call.arguments += event.argumentsDelta;
        break;
      }
      case 'finish':
        this.finish = event;
        break;
    }
  }

  /** The answer so far; usage and stop reason come from `finish` when seen. */
  response(): ChatResponse {
    return {
      id: this.id,
      model: this.model,
      content: this.#content.map((part) => ({ ...part })),
      stopReason: this.finish?.stopReason ?? 'stop',
      ...(this.finish?.stopSequence !== undefined ? { stopSequence: this.finish.stopSequence } : {}),
      usage: this.finish?.usage ?? { inputTokens: 0, outputTokens: 0 },
      ...(this.finish?.warnings ? { warnings: this.finish.warnings } : {}),
    };
  }
}

/** Folds a stream of events into the complete answer it describes. */
export async function collectStream(events: AsyncIterable<StreamEvent>): Promise<ChatResponse> {
  const accumulator = new StreamAccumulator();
  for await (const event of events) {
    if (event.type === 'error') throw event.error;
    accumulator.add(event);
    if (event.type === 'finish') return accumulator.response();
  }
  throw new Error('Stream ended without a finish event');
}

/** An embeddings request, whatever wire format it arrived in. */
export interface EmbeddingRequest {
  /** The model name: the route name at the router, the upstream model name at a provider. */
  model: string;
  /** What to embed, one vector each, in order: texts, or token-id arrays as the client sent them. */
  input: Array<string | number[]>;
  /** Length of each vector, when the client asked for one (OpenAI's `dimensions`). */
  dimensions?: number;
}

/** Vectors from a provider. */
export interface EmbeddingResponse {
  /** Upstream model that answered. */
  model: string;
  /** One vector per input, in input order. */
  embeddings: number[][];
  /** Embeddings have input tokens only. */
  usage: { inputTokens: number };
}
