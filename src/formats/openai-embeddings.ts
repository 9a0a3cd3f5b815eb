/**
 * The OpenAI embeddings API (`POST /v1/embeddings`): `input` as a string, a
 * list of strings, a token-id list or a list of those; `dimensions`;
 * `encoding_format` `float` (the API's default) or `base64` (little-endian
 * float32, which the `openai` SDK asks for by default and decodes itself).
 * The upstream side reads an OpenAI answer back into vectors.
 * Answers `{object: "list", data: [{object: "embedding", index, embedding}],
 * model, usage: {prompt_tokens, total_tokens}}`; errors in OpenAI's shape.
 * https://platform.openai.com/docs/api-reference/embeddings
 */
import { z } from 'zod';
import type { RoutedEmbeddings } from '../canonical/outcome.ts';
import type { EmbeddingRequest, EmbeddingResponse } from '../canonical/types.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { parseOpenAIRequest } from './openai-shared.ts';
import { fieldError, isObject, jsonType } from './wire-utils.ts';

/** Inputs one request may hold, as OpenAI allows. */
export const MAX_EMBEDDING_INPUTS = 2048;

const tokenIds = z.array(z.int().min(0), { error: 'must be a list of token ids (integers)' });

const requestSchema = z.strictObject({
  model: z.string().min(1, { error: 'must not be empty' }),
  input: z.union([z.string(), z.array(z.string()), tokenIds, z.array(tokenIds)], {
    error: 'must be a string, a list of strings, a list of token ids, or a list of token-id lists',
  }),
  dimensions: z.int().min(1, { error: 'must be at least 1' }).nullish(),
  encoding_format: z.enum(['float', 'base64'], { error: "must be 'float' or 'base64'" }).nullish(),
  user: z.string().nullish(),
});

const KNOWN_KEYS = Object.keys(requestSchema.shape);

/** A parsed embeddings request. */
export interface ParsedEmbeddingRequest {
  request: EmbeddingRequest;
  encoding: 'float' | 'base64';
}

/** Parses and validates a `POST /v1/embeddings` body; throws a `RequestError` that says what to fix. */
export function parseEmbeddingRequest(body: unknown): ParsedEmbeddingRequest {
  if (!isObject(body)) {
    throw fieldError('', `The request body must be a JSON object, not ${jsonType(body)}. Send {"model": "text-embedding-3-small", "input": "Hello"}.`);
  }
  const data = parseOpenAIRequest(requestSchema, body, (problem) => `Unrecognized request argument supplied: ${problem.key}.${didYouMean(problem.key!, KNOWN_KEYS)}`);
  const raw = data.input;
  // A lone token-id list is one input; a list of strings or of lists is one input each.
  const input: Array<string | number[]> = typeof raw === 'string' ? [raw] : raw.length > 0 && typeof raw[0] === 'number' ? [raw as number[]] : (raw as Array<string | number[]>);
  if (input.length === 0) throw fieldError('input', `Invalid 'input': the list is empty. Send at least one text to embed.`);
  if (input.length > MAX_EMBEDDING_INPUTS) throw fieldError('input', `Invalid 'input': ${input.length} inputs is more than ${MAX_EMBEDDING_INPUTS}. Split them over several requests.`);
  input.forEach((item, i) => {
    if (item.length === 0) {
      const at = typeof raw === 'string' ? 'input' : `input[${i}]`;
      throw fieldError(at, `Invalid '${at}': it is empty. Every input must have at least one character (or token).`);
    }
  });
  const request: EmbeddingRequest = { model: data.model, input };
  if (data.dimensions != null) request.dimensions = data.dimensions;
  return { request, encoding: data.encoding_format ?? 'float' };
}

/** A vector as OpenAI's `base64` encoding sends it: little-endian float32 values. */
export function base64Vector(vector: readonly number[]): string {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4));
  vector.forEach((value, i) => bytes.setFloat32(i * 4, value, true));
  return Buffer.from(bytes.buffer).toString('base64');
}

/** The JSON body of an embeddings answer. */
export function renderEmbeddings(result: RoutedEmbeddings, encoding: 'float' | 'base64') {
  const tokens = result.response.usage.inputTokens;
  return {
    object: 'list',
    data: result.response.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? base64Vector(vector) : vector,
    })),
    model: result.route.name,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** Vectors from an upstream OpenAI embeddings answer, in input order; throws when it is not one for `count` inputs. */
export function fromOpenAIEmbeddings(body: unknown, count: number): EmbeddingResponse {
  const { data, model, usage } = (body ?? {}) as { data?: unknown; model?: unknown; usage?: { prompt_tokens?: unknown } };
  if (!Array.isArray(data) || data.length !== count) throw new Error(`expected ${count} embeddings in data`);
  const embeddings = new Array<number[]>(count);
  for (const item of data as Array<{ index?: unknown; embedding?: unknown }>) {
    const index = typeof item?.index === 'number' ? item.index : -1;
    if (!(index >= 0 && index < count) || !Array.isArray(item.embedding)) throw new Error('an embedding without a valid index or float vector');
    embeddings[index] = item.embedding as number[];
  }
  return { model: typeof model === 'string' ? model : '', embeddings, usage: { inputTokens: typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : 0 } };
}
