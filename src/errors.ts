/**
 * Every error TokenPak raises is a {@link TokenPakError}: a stable `code` that
 * programs can switch on, an HTTP `status` for the client, and a message that
 * says what failed, why, and how to fix it.
 */
import type { AttemptRecord } from './logs/types.ts';

/** Stable error codes. Never rename one: users match on them. */
export type TokenPakErrorCode =
  | 'config_invalid'
  | 'config_not_found'
  | 'invalid_request'
  /** No client key, or one that is not in `server.auth.keys` (401). */
  | 'unauthorized'
  /** Refused: a model the client key may not use, a non-loopback Host, or a cross-site Origin (403). */
  | 'forbidden'
  | 'model_not_found'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  /** A rate limit of the provider, or of TokenPak's own `limits:` (requests or tokens per minute) was reached (429). */
  | 'rate_limited'
  /** A client key's spend limit (`cents_per_day`, `cents_per_month`) was reached (429). */
  | 'budget_exceeded'
  /** The counters of rate limits and budgets (Redis, `state.redis`) cannot be reached (503). */
  | 'limits_unavailable'
  | 'provider_error'
  | 'provider_overloaded'
  | 'provider_timeout'
  | 'provider_connection_error'
  | 'provider_auth_error'
  | 'provider_disabled'
  | 'production_guard'
  /** A mock with `on_unmatched: error` received a request no rule matches. */
  | 'mock_unmatched'
  /** The call log cannot be opened, read or written. */
  | 'log_store_error'
  /** The server is stopping: the request or stream was cut at the end of the shutdown grace period. */
  | 'shutting_down'
  /** The provider does not offer this endpoint (for example embeddings on Anthropic). */
  | 'unsupported_endpoint'
  /** A server-held conversation (`previous_response_id`, an Anthropic thread) is not stored (any more). */
  | 'conversation_not_found'
  /** A server-held conversation cannot be used as asked (already continued, changed fields, too large). */
  | 'conversation_rejected'
  /** A replay found no recorded exchange for the request (cassettes). */
  | 'cassette_miss'
  /** A cassette file cannot be read or written. */
  | 'cassette_invalid'
  | 'internal_error';

/** Options shared by every TokenPak error. */
export interface TokenPakErrorOptions {
  /** HTTP status the client receives (default 500). */
  status?: number;
  /** Whether trying again, or another provider, may succeed. */
  retryable?: boolean;
  /** Name of the configured provider the error came from, if any. */
  provider?: string;
  /** The underlying error, kept for logs and debugging; never sent to clients. */
  cause?: unknown;
  /** Seconds the client should wait before retrying (sent as `retry-after`). */
  retryAfterSeconds?: number;
  /**
   * Milliseconds the client should wait before retrying (sent as
   * `retry-after-ms`, which the official SDKs read before `retry-after`).
   */
  retryAfterMs?: number;
}

const PREFIX = '[tokenpak] ';

/** The one base class for TokenPak errors. */
export class TokenPakError extends Error {
  /** Stable machine-readable code. */
  readonly code: TokenPakErrorCode;
  /** HTTP status the client receives. */
  readonly status: number;
  /** Whether trying again, or another provider, may succeed. */
  readonly retryable: boolean;
  /** Configured provider name the error came from, if any. */
  readonly provider: string | undefined;
  /** Seconds to wait before retrying, when known. */
  readonly retryAfterSeconds: number | undefined;
  /** Milliseconds to wait before retrying, when known more precisely than in seconds. */
  readonly retryAfterMs: number | undefined;

  constructor(code: TokenPakErrorCode, message: string, options: TokenPakErrorOptions = {}) {
    super(message.startsWith(PREFIX) ? message : PREFIX + message, { cause: options.cause });
    this.name = 'TokenPakError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.provider = options.provider;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The message without the `[tokenpak] ` prefix, as sent to HTTP clients. */
  get detail(): string {
    return this.message.slice(PREFIX.length);
  }

  /**
   * True for any TokenPak error, also across bundled copies of this module (two installed
   * versions, or `tokenpak` and `tokenpak/vitest` loaded from different builds), where
   * `instanceof` fails: every copy brands its errors with the same registered symbol.
   */
  static is(value: unknown): value is TokenPakError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** The brand {@link TokenPakError.is} looks for; `Symbol.for` gives every copy of this module the same symbol. */
const BRAND = Symbol.for('tokenpak.error');
Object.defineProperty(TokenPakError.prototype, BRAND, { value: true });

/** One problem found in a config file, located by key path and position. */
export interface ConfigIssue {
  /** Dotted key path, for example `providers.openai.api_key`. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column in the file, when known. */
  column?: number;
}

/** A config file that cannot be loaded; `issues` lists every problem found. */
export class ConfigError extends TokenPakError {
  /** Path of the config file, or `<inline>`. */
  readonly file: string;
  /** Every problem found, in file order. */
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[], code: TokenPakErrorCode = 'config_invalid') {
    const lines = issues.map((issue) => formatConfigIssue(file, issue));
    const head =
      issues.length === 1
        ? `Failed to load ${lines[0]}`
        : `Failed to load ${file}: ${issues.length} problems:\n  ${lines.join('\n  ')}`;
    super(code, head, { status: 500 });
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** `file:line:column: path: message`, the form every config problem is shown in. */
export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line ? `${file}:${issue.line}:${issue.column ?? 1}` : file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A request the client must fix (400 unless told otherwise). */
export class RequestError extends TokenPakError {
  /** The request field at fault, for example `messages[0].role` (sent as OpenAI's `param`). */
  readonly param: string | undefined;

  constructor(message: string, options: TokenPakErrorOptions & { code?: TokenPakErrorCode; param?: string } = {}) {
    super(options.code ?? 'invalid_request', message, { status: 400, ...options });
    this.name = 'RequestError';
    this.param = options.param;
  }
}

/** A failure reported by, or while talking to, a provider. */
export class ProviderError extends TokenPakError {
  /**
   * The client's connection is dropped mid-stream, as the upstream's was, instead of
   * being sent an error event. Set by providers that simulate a dropped connection (the
   * mock's `disconnect`), so client code sees what the real API would show it; a real
   * upstream's drop stays an error event, since the client's connection is sound.
   */
  readonly dropsConnection: boolean;

  constructor(
    code: TokenPakErrorCode,
    message: string,
    options: TokenPakErrorOptions & { provider: string; dropsConnection?: boolean },
  ) {
    const { dropsConnection, ...rest } = options;
    super(code, message, { status: 502, ...rest });
    this.name = 'ProviderError';
    this.dropsConnection = dropsConnection ?? false;
  }
}

/**
 * The code and retryability a provider failure with this HTTP status has.
 * 408, 409, 429 and every 5xx are retryable; other 4xx are the client's to fix.
 */
export function classifyStatus(status: number): { code: TokenPakErrorCode; retryable: boolean } {
  if (status === 429) return { code: 'rate_limited', retryable: true };
  if (status === 529) return { code: 'provider_overloaded', retryable: true };
  if (status === 401 || status === 403) return { code: 'provider_auth_error', retryable: false };
  if (status === 408) return { code: 'provider_timeout', retryable: true };
  if (status === 409 || status >= 500) return { code: 'provider_error', retryable: true };
  return { code: 'invalid_request', retryable: false };
}

/** A failed call: the last attempt's error, with every attempt. */
export class RoutingError extends TokenPakError {
  /** Every provider tried, in order. */
  readonly attempts: AttemptRecord[];
  readonly requestId: string;

  constructor(last: TokenPakError, attempts: AttemptRecord[], routeName: string, requestId: string) {
    const tried = attempts.filter((a) => a.outcome === 'error');
    const summary =
      tried.length > 1
        ? ` (all ${tried.length} attempts for "${routeName}" failed: ${tried.map((a) => `${a.provider} → ${a.status} ${a.errorCode}`).join('; ')})`
        : '';
    const options: TokenPakErrorOptions = { status: last.status, retryable: last.retryable, cause: last };
    if (last.provider !== undefined) options.provider = last.provider;
    if (last.retryAfterSeconds !== undefined) options.retryAfterSeconds = last.retryAfterSeconds;
    if (last.retryAfterMs !== undefined) options.retryAfterMs = last.retryAfterMs;
    super(last.code, last.detail + summary, options);
    this.name = 'RoutingError';
    this.attempts = attempts;
    this.requestId = requestId;
  }
}

/** Wraps anything thrown into a TokenPakError without losing the original. */
export function toTokenPakError(error: unknown): TokenPakError {
  if (TokenPakError.is(error)) return error;
  return new TokenPakError('internal_error', 'Internal error in TokenPak. This is a bug; please report it.', {
    status: 500,
    cause: error,
  });
}

/**
 * A server-held conversation (Responses `previous_response_id`, an Anthropic
 * message thread) that cannot be used as asked. `wireCode` is the API's own
 * machine-readable code, which SDKs act on: Anthropic's `error.details.error_code`
 * (`thread_not_found` makes the SDK replay the full history under a new thread,
 * `thread_unsupported_request` makes its tool runner continue unthreaded), or
 * OpenAI's `error.code` (`previous_response_not_found`).
 */
export class ConversationError extends RequestError {
  /** The API's error code, for example `thread_not_found`. */
  readonly wireCode: string;
  /** Further machine-readable details the API sends with that code (Anthropic's `unsupported`). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: 'conversation_not_found' | 'conversation_rejected',
    message: string,
    options: { wireCode: string; status?: number; param?: string; details?: Record<string, unknown> },
  ) {
    super(message, { code, status: options.status ?? 400, ...(options.param ? { param: options.param } : {}) });
    this.name = 'ConversationError';
    this.wireCode = options.wireCode;
    this.details = options.details ?? {};
  }
}
