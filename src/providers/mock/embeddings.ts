/**
 * The mock's embeddings: deterministic vectors computed from the input text,
 * so that the same text always gets the same vector and texts that share
 * words get similar ones (a retrieval test can rank documents against a
 * query and get a stable, meaningful order).
 *
 * Method: feature hashing. Each lower-cased word adds ±1 to a dimension
 * picked by hashing it (its sign from another hash), each character trigram
 * ±0.25 (so typos and word forms stay close); the vector is then normalized
 * to length 1, as OpenAI's are. A shorter `dimensions` takes the first
 * values of the model's full vector and normalizes them again, which is what
 * OpenAI documents for its `text-embedding-3` models.
 */
import type { EmbeddingRequest, EmbeddingResponse } from '../../canonical/types.ts';
import { RequestError } from '../../errors.ts';
import { hash32 } from './random.ts';
import { countTokens } from './tokens.ts';

/** Full vector length by model; any other model gets {@link DEFAULT_EMBEDDING_DIMENSIONS}. */
export const EMBEDDING_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/** Vector length of a model the table does not list. */
export const DEFAULT_EMBEDDING_DIMENSIONS = 1536;

/** Models that, like OpenAI's, have one fixed length and refuse `dimensions`. */
const FIXED_LENGTH = new Set(['text-embedding-ada-002']);

/** The vector of one input at the model's full length, normalized. */
function fullVector(input: string | number[], length: number): number[] {
  const vector = new Array<number>(length).fill(0);
  const add = (feature: string, weight: number) => {
    const h = hash32(feature);
    vector[h % length]! += hash32(`sign:${feature}`) & 1 ? weight : -weight;
  };
  if (typeof input === 'string') {
    const text = input.toLowerCase();
    for (const word of text.match(/[\p{L}\p{N}]+/gu) ?? []) {
      add(`w:${word}`, 1);
      const padded = ` ${word} `;
      for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.25);
    }
    // Text without letters or digits (punctuation, emoji) still gets its own vector.
    if (!/[\p{L}\p{N}]/u.test(text)) add(`s:${text}`, 1);
  } else {
    for (const token of input) add(`k:${token}`, 1);
  }
  return normalize(vector);
}

function normalize(vector: number[]): number[] {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

/** Embeds every input of `request`; `model` is the upstream model name. */
export function mockEmbeddings(request: EmbeddingRequest): EmbeddingResponse {
  const full = EMBEDDING_DIMENSIONS[request.model] ?? DEFAULT_EMBEDDING_DIMENSIONS;
  const wanted = request.dimensions;
  if (wanted !== undefined) {
    if (FIXED_LENGTH.has(request.model)) {
      throw new RequestError(`This model does not support specifying dimensions: ${request.model} always answers ${full} values. Leave 'dimensions' out, or use text-embedding-3-small or -large.`, { param: 'dimensions' });
    }
    if (wanted > full) {
      throw new RequestError(`Invalid 'dimensions': ${wanted} is more than ${request.model}'s ${full}. Ask for 1 to ${full}.`, { param: 'dimensions' });
    }
  }
  let inputTokens = 0;
  const embeddings = request.input.map((input) => {
    inputTokens += typeof input === 'string' ? countTokens(input, request.model) : input.length;
    const vector = fullVector(input, full);
    return wanted === undefined || wanted === full ? vector : normalize(vector.slice(0, wanted));
  });
  return { model: request.model, embeddings, usage: { inputTokens } };
}
