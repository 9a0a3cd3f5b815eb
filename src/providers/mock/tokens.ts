/**
 * Token counts for the mock (its usage, embeddings and token-count answers).
 *
 * OpenAI-family models (`gpt-*`, `o1`/`o3`/`o4…`, `text-embedding-*`,
 * `chatgpt-*`) are counted with their real tokenizer (gpt-tokenizer:
 * `o200k_base` for gpt-4o, gpt-4.1, gpt-5 and the o-series, `cl100k_base`
 * for gpt-4, gpt-3.5 and the embedding models): text counts are exact up to
 * 100,000 characters per text, scaled from those beyond (bounded work for
 * any prompt a client sends). The
 * tokenizer is loaded on the first request for such a model, once per
 * encoding, so start-up and other models never pay for it ({@link loadTokenizer}).
 *
 * Every other model gets the estimate: ceil(characters / 4) tokens (OpenAI's
 * rule of thumb for English; Claude's tokenizer gives within about ±25 % of it
 * on English prose, more on code and non-Latin scripts).
 *
 * Framing, the same for both: each message adds 3 tokens, a system prompt 3
 * more; tool definitions count as their JSON text; an image a flat 85. Output
 * counts its text and each tool call's name and arguments.
 */
import type { ChatRequest, ContentPart } from '../../canonical/types.ts';

/** The tiktoken encodings the mock knows. */
export type Encoding = 'o200k_base' | 'cl100k_base';

type Counter = (text: string) => number;

const loaded = new Map<Encoding, Counter>();
const loading = new Map<Encoding, Promise<void>>();

/** The real encoding of an OpenAI-family model, or undefined for any other model. */
export function encodingFor(model: string): Encoding | undefined {
  const name = model.toLowerCase().replace(/^openai\//, '');
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o[1-9](-|$)|chatgpt-)/.test(name)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|text-embedding-)/.test(name)) return 'cl100k_base';
  return undefined;
}

/**
 * Loads the tokenizer `model` is counted with. Returns a promise while it
 * loads (the first call for an encoding), undefined when there is nothing to
 * wait for (already loaded, or a model counted by estimate), so callers await
 * only on the first request.
 */
export function loadTokenizer(model: string): Promise<void> | undefined {
  const encoding = encodingFor(model);
  if (encoding === undefined || loaded.has(encoding)) return undefined;
  let pending = loading.get(encoding);
  if (!pending) {
    const module = encoding === 'o200k_base' ? import('gpt-tokenizer/encoding/o200k_base') : import('gpt-tokenizer/encoding/cl100k_base');
    pending = module.then(
      (tokenizer) => {
        loaded.set(encoding, (text) => boundedCount((piece) => tokenizer.encode(piece, { allowedSpecial: 'all' }).length, text));
      },
      () => {
        // Without the tokenizer the estimate stands in; counts stay deterministic for this process.
        loaded.set(encoding, estimateTokens);
      },
    );
    loading.set(encoding, pending);
  }
  return pending;
}

// BPE costs the square of an unbroken run's length (80,000 of one letter took 4 s, a 3.9 MB
// prompt would take hours), and a client chooses the prompt: the tokenizer sees pieces of at
// most PIECE_CHARS, cut before whitespace where there is some, and at most EXACT_CHARS in all.
const PIECE_CHARS = 1_000;
const EXACT_CHARS = 100_000;

/**
 * Tokens of `text` with bounded work: exact for the first {@link EXACT_CHARS}
 * characters (counted in pieces; a piece cut inside a run of letters may
 * differ from the whole by a token), and beyond that the same tokens per
 * character as the first part.
 */
function boundedCount(encode: (piece: string) => number, text: string): number {
  if (text.length <= PIECE_CHARS) return encode(text);
  const limit = Math.min(text.length, EXACT_CHARS);
  let total = 0;
  for (let start = 0; start < limit; ) {
    let end = Math.min(start + PIECE_CHARS, limit);
    if (end < text.length) {
      // Cut before a space, so a word and its leading space stay one token.
      const space = text.lastIndexOf(' ', end);
      if (space > start + PIECE_CHARS / 2) end = space;
    }
    total += encode(text.slice(start, end));
    start = end;
  }
  return limit === text.length ? total : Math.ceil((total * text.length) / limit);
}

/** The estimate: ceil(characters / 4). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Tokens of `text` for `model`: exact for an OpenAI-family model once its
 * tokenizer is loaded ({@link loadTokenizer}), the estimate otherwise.
 */
export function countTokens(text: string, model = ''): number {
  const encoding = encodingFor(model);
  const counter = encoding === undefined ? undefined : loaded.get(encoding);
  return counter ? counter(text) : estimateTokens(text);
}

function partTokens(part: ContentPart, model: string): number {
  switch (part.type) {
    case 'text':
      return countTokens(part.text, model);
    case 'tool-call':
      return countTokens(part.name, model) + countTokens(part.arguments, model);
    case 'tool-result':
      return countTokens(part.content, model);
    case 'image':
      // A flat figure: real providers charge by pixel count, which we do not know.
      return 85;
  }
}

/** Input tokens of a request, counted for `request.model` (see the module doc for the framing). */
export function estimateInputTokens(request: ChatRequest): number {
  const model = request.model;
  let total = request.system ? countTokens(request.system, model) + 3 : 0;
  for (const message of request.messages) {
    total += 3;
    for (const part of message.content) total += partTokens(part, model);
  }
  if (request.tools?.length) total += countTokens(JSON.stringify(request.tools), model);
  return total;
}

/** Output tokens of an answer's content, counted for `model` (the estimate when none is given). */
export function estimateOutputTokens(content: readonly ContentPart[], model = ''): number {
  let total = 0;
  for (const part of content) total += partTokens(part, model);
  return total;
}
