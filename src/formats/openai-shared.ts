/**
 * What the OpenAI Chat Completions and Responses formats share: request
 * validation errors worded as OpenAI words them, the error body
 * `{error: {message, type, param, code}}` with the status OpenAI uses, and the
 * `GET /v1/models` list.
 */
import type { z } from 'zod';
import { ConversationError, type TokenPakError, type TokenPakErrorCode } from '../errors.ts';
import type { ModelListing, RenderedError, WireFormat } from './types.ts';
import { bracketPath, fieldError, firstProblem, paramOf, retryHeaders, unixSeconds, type RequestProblem } from './wire-utils.ts';

/**
 * Validates a request body (already known to be an object) against a
 * format's schema. Each API words an unknown parameter its own way, hence
 * `unknownKey`; missing and invalid parameters read the same in both.
 */
export function parseOpenAIRequest<S extends z.ZodType>(schema: S, body: unknown, unknownKey: (problem: RequestProblem) => string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problem = firstProblem(parsed.error, body, bracketPath);
  if (problem.kind === 'unknown-key') throw fieldError(problem.param, unknownKey(problem));
  if (problem.kind === 'missing') throw fieldError(problem.param, `Missing required parameter: '${problem.param}'.`);
  throw fieldError(problem.param, `Invalid '${problem.param}': ${problem.message}.`);
}

/** OpenAI's `error.code` for TokenPak codes that have one; other codes are sent as TokenPak's own. */
const OPENAI_CODES: Partial<Record<TokenPakErrorCode, string | null>> = {
  invalid_request: null,
  model_not_found: 'model_not_found',
  route_not_found: null,
  method_not_allowed: null,
  rate_limited: 'rate_limit_exceeded',
  // OpenAI's own answer to a spent quota: a 429 that says retrying soon will not help.
  budget_exceeded: 'insufficient_quota',
  provider_error: null,
  internal_error: null,
};

function openaiType(status: number, code: TokenPakErrorCode): string {
  if (code === 'budget_exceeded') return 'insufficient_quota';
  if (code === 'rate_limited' || status === 429) return 'requests';
  if (status === 401 || code === 'provider_auth_error') return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The OpenAI error object (the value of `error`), also used inside streams. */
export function openaiErrorObject(error: TokenPakError) {
  const code = error instanceof ConversationError ? error.wireCode : error.code in OPENAI_CODES ? OPENAI_CODES[error.code]! : error.code;
  return { message: error.detail, type: openaiType(error.status, error.code), param: paramOf(error), code };
}

/** An error as the OpenAI API sends it. */
export function renderOpenAIError(error: TokenPakError): RenderedError {
  // OpenAI has no 529: an overloaded upstream is a 503 there, which SDKs retry the same way.
  const status = error.status === 529 ? 503 : error.status;
  return { status, body: { error: openaiErrorObject(error) }, headers: retryHeaders(error) };
}

/** A model as OpenAI describes one; `owned_by` is the route's primary provider. */
export function renderOpenAIModel({ route, createdAt }: ModelListing) {
  return { id: route.name, object: 'model', created: unixSeconds(createdAt), owned_by: route.chain[0]?.provider ?? 'tokenpak' };
}

/** `GET /v1/models` as OpenAI lists models. */
export function renderOpenAIModels(models: readonly ModelListing[]) {
  return { object: 'list', data: models.map(renderOpenAIModel) };
}

/** The error and model-list renderers of both OpenAI formats. */
export const openaiErrorsAndModels = {
  renderError: renderOpenAIError,
  renderModels: renderOpenAIModels,
  renderModel: renderOpenAIModel,
} satisfies Pick<WireFormat, 'renderError' | 'renderModels' | 'renderModel'>;
