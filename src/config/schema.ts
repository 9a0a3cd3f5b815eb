/**
 * The config file's schema. `z.input` of these schemas is what users write;
 * `z.output` (defaults applied) is what the rest of TokenPak reads, after
 * `loadConfig()` has resolved routes. Every object is strict: an unknown key is
 * an error with a did-you-mean, never silently ignored.
 */
import { z } from 'zod';
import { DURATION_PATTERN } from '../util/time.ts';

const nonNegativeInt = z.int().min(0);

/**
 * What an injected mock failure is: an HTTP error status (429, 500, 502, 503,
 * 529, … any of 400 to 599), a timeout, or a dropped connection.
 */
const FAILURE_KINDS = 'must be an HTTP error status from 400 to 599 (such as 429, 500, 502, 503 or 529), "timeout" or "disconnect"';
export const failureKindSchema = z.union([z.int().min(400, { error: FAILURE_KINDS }).max(599, { error: FAILURE_KINDS }), z.literal(['timeout', 'disconnect'])], {
  error: FAILURE_KINDS,
});
export type FailureKind = z.output<typeof failureKindSchema>;

/** Milliseconds, or a `{min, max}` range drawn deterministically per call. */
export const latencySchema = z.union(
  [
    nonNegativeInt,
    z
      .strictObject({ min: nonNegativeInt, max: nonNegativeInt })
      .refine((range) => range.min <= range.max, { error: 'min must not be greater than max' }),
  ],
  { error: 'must be a whole number of milliseconds, or {min, max}' },
);
export type LatencySetting = z.output<typeof latencySchema>;

const toolCallAnswerSchema = z.strictObject({
  /** Tool name the mock calls. */
  name: z.string().min(1),
  /** Arguments, as an object or a JSON text. */
  arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).default({}),
  /** Tool call id; generated when absent. */
  id: z.string().optional(),
});

const answerPartSchema = z.union([
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({
    type: z.literal('tool_call'),
    name: z.string().min(1),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).default({}),
    id: z.string().optional(),
  }),
]);

/** An error a canned answer returns instead of content. */
export const answerErrorSchema = z.union(
  [
    failureKindSchema,
    z.strictObject({
      /** HTTP status, 400 to 599. */
      status: z.int().min(400).max(599),
      /** Message the client receives. */
      message: z.string().optional(),
    }),
  ],
  { error: 'must be an HTTP error status from 400 to 599, "timeout", "disconnect" or {status, message}' },
);

/** A canned answer in object form: text, JSON, tool calls, content parts, or an error. */
export const answerObjectSchema = z
  .strictObject({
    text: z.string().optional(),
    /** A JSON value, sent as its JSON text (checked against the request's JSON schema, when it has one). */
    json: z.unknown().optional(),
    tool_call: toolCallAnswerSchema.optional(),
    tool_calls: z.array(toolCallAnswerSchema).min(1).optional(),
    content: z.array(answerPartSchema).min(1).optional(),
    error: answerErrorSchema.optional(),
    /** Overrides the provider's latency for this answer. */
    latency_ms: latencySchema.optional(),
  })
  .refine(
    (a) => [a.text, a.json, a.tool_call, a.tool_calls, a.content, a.error].filter((v) => v !== undefined).length === 1,
    { error: 'an answer needs exactly one of text, json, tool_call, tool_calls, content or error' },
  );

/** A canned answer: a string is the answer's text. */
export const answerSchema = z.union([z.string(), answerObjectSchema], {
  error: 'must be a string, or an object with one of text, json, tool_call, tool_calls, content or error',
});
export type AnswerSpec = z.output<typeof answerSchema>;

/** One answer, or a list of answers given one per call in turn (cycling). */
export const answersSchema = z.union([answerSchema, z.array(answerSchema).min(1)]);
export type AnswersSpec = z.output<typeof answersSchema>;

/**
 * Keyword patterns in file order. The loader turns the YAML mapping into
 * `[key, answer]` pairs so that file order survives (a JS object would move
 * integer-like keys first).
 */
export const patternsSchema = z.array(z.tuple([z.string().min(1), answersSchema]));

/** Text to look for: a case-insensitive keyword, or `/source/flags`, a regular expression. */
const textMatchSchema = z.string({ error: 'must be a keyword, or a /regular expression/' }).min(1);

/**
 * When a rule applies: every condition given must hold (an empty or absent
 * `when` always holds). Each is checked against the request as the mock
 * received it.
 */
export const ruleWhenSchema = z.strictObject({
  /** Text in the last user message. */
  prompt: textMatchSchema.optional(),
  /** Text in the system prompt. */
  system: textMatchSchema.optional(),
  /**
   * The conversation ends with tool results: `true` (any), a tool name, or
   * `{name, contains}` (the result of that tool, containing that text).
   */
  tool_result: z
    .union([z.boolean(), z.string().min(1), z.strictObject({ name: z.string().min(1).optional(), contains: textMatchSchema.optional() })], {
      error: 'must be true, false, a tool name, or {name, contains}',
    })
    .optional(),
  /** Assistant turns so far in the request (0 on the first call): a number, or `{min, max}`. */
  turn: z
    .union([z.int().min(0, { error: 'must be 0 or more (assistant turns so far)' }), z.strictObject({ min: nonNegativeInt.optional(), max: nonNegativeInt.optional() })], {
      error: 'must be a whole number of assistant turns, or {min, max}',
    })
    .optional(),
  /** Tools the request offers: a name, or a list of names that must all be offered. */
  tools: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: 'must be a tool name, or a list of tool names' }).optional(),
  /**
   * The request's response format (Chat Completions `response_format`,
   * Responses `text.format`, Anthropic `output_config.format`): `true` (any
   * JSON format), `false` (none), or its type.
   */
  response_format: z
    .union([z.boolean(), z.enum(['json_schema', 'json_object', 'text'])], { error: 'must be true, false, "json_schema", "json_object" or "text"' })
    .optional(),
  /** The request's tool choice: `auto`, `none`, `required`, `forced` (required or one named tool), or a tool name. */
  tool_choice: z.string().min(1).optional(),
  /** Request metadata (the `metadata` field of the request body): key → text to look for. */
  metadata: z.record(z.string(), textMatchSchema).optional(),
  /** Request headers (names in any case; credentials are never visible): name → text to look for. */
  header: z.record(z.string(), textMatchSchema).optional(),
});
export type RuleWhen = z.output<typeof ruleWhenSchema>;

/** One rule: when its conditions hold (and an earlier rule did not match), it answers. */
export const ruleSchema = z.strictObject({
  /** Shown in transcripts and errors (default: the conditions, written out). */
  name: z.string().min(1).optional(),
  /** Conditions, all of which must hold. */
  when: ruleWhenSchema.default({}),
  /** The answer, or a list played through one per turn of the conversation. */
  answer: z.union([answerSchema, z.array(answerSchema).min(1)], {
    error: (issue) => (issue.input === undefined ? 'is required: the answer (a text, an answer object, or a list of them)' : undefined),
  }),
  /**
   * Answer the result of this rule's own tool call again. By default a rule
   * whose tool call the conversation ends with the result of does not fire
   * again, so tool loops end.
   */
  repeat: z.boolean().default(false),
});
export type RuleSpec = z.output<typeof ruleSchema>;

/** Canned answers for one requested model. */
export const modelResponsesSchema = z.strictObject({
  /** Ordered rules, tried before `patterns`; the first that matches answers. */
  rules: z.array(ruleSchema).default([]),
  /** The answer when no rule or pattern matches. */
  default: answersSchema.optional(),
  /** `keyword: answer`; a key written `/source/flags` is a regular expression. */
  patterns: patternsSchema.default([]),
});

/** What a mock does with a request no rule or pattern matches. */
export const onUnmatchedSchema = z.enum(['default', 'generate', 'error'], { error: 'must be "default", "generate" or "error"' });
export type OnUnmatched = z.output<typeof onUnmatchedSchema>;

const providerCommon = {
  /** A disabled provider is never called and needs no API key. */
  enabled: z.boolean().default(true),
  /** Total time allowed for one call, in milliseconds. */
  timeout_ms: z.int().min(1).optional(),
  /** Base URL of the API; for `type: openai` any OpenAI-compatible server. */
  base_url: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, for example https://api.openai.com/v1' }).optional(),
  /** Extra HTTP headers sent upstream with every request. */
  headers: z.record(z.string(), z.string()).optional(),
};

/** How fast recorded streams are replayed: as recorded, at once, or with offsets multiplied by `scale`. */
export const replayTimingSchema = z.union(
  [z.enum(['recorded', 'instant']), z.strictObject({ scale: z.number().positive() })],
  { error: 'must be "recorded", "instant" or {scale: N} (0.5 plays twice as fast)' },
);

const redactionSchema = z.string().min(1).refine(
  (pattern) => {
    const regex = /^\/(.+)\/([imsuv]*)$/s.exec(pattern);
    if (!regex) return true;
    try {
      new RegExp(regex[1]!, regex[2]);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'is not a valid regular expression; write /source/flags (flags i, m, s, u, v) or a plain text to remove' },
);

/**
 * Recorded traffic of real providers ("cassettes"): record the exchanges of
 * the routes' real providers, or answer from recordings instead of the API.
 */
export const cassettesSchema = z.strictObject({
  /** `record` (call the API, write), `replay` (never call the API), `auto` (replay what exists, record what is missing) or `off`. */
  mode: z.enum(['off', 'record', 'replay', 'auto'], { error: 'must be "off", "record", "replay" or "auto"' }).default('off'),
  /** Folder of the cassette files, relative to the working directory. */
  dir: z.string().min(1).default('cassettes'),
  /** The scenario of requests that name none with the `x-tokenpak-cassette` header. */
  name: z.string().min(1).default('default'),
  /** In `replay`: what a request that no cassette holds gets: an `error` showing the closest recording, `fallthrough` to the route's next provider, or `record`. */
  on_miss: z.enum(['error', 'fallthrough', 'record'], { error: 'must be "error", "fallthrough" or "record"' }).default('error'),
  /** Replay speed (default: "recorded" for the proxy, "instant" in Vitest). */
  timing: replayTimingSchema.optional(),
  /** Request fields that do not take part in matching (default: user, metadata, store, prompt_cache_key, safety_identifier, service_tier); `a.b` for nested ones. */
  ignore: z.array(z.string().min(1)).optional(),
  /** Text removed from cassettes besides the configured secrets: `/regex/flags` or plain text; matches may span stream events. */
  redact: z.array(redactionSchema).default([]),
});

/**
 * Settings of the providers reached over HTTP (OpenAI, Anthropic): time limits
 * and retries. A failed call is retried at the same provider (for 408, 409,
 * 429, 5xx, 529, a refused or reset connection, a connect or first-byte
 * timeout) before the router moves on to the fallback; an answer that has
 * begun is never retried.
 */
const httpProviderCommon = {
  /** The whole call in milliseconds, retries and the full stream included (default 10 minutes, as the official SDKs). */
  timeout_ms: z.int().min(1).default(600_000),
  /** To open the connection (TCP and TLS), in milliseconds. */
  connect_timeout_ms: z.int().min(1).default(10_000),
  /**
   * From sending the request to the response headers, in milliseconds. A
   * non-streaming answer's headers come only once it is complete: raise this
   * for long non-streaming answers.
   */
  first_byte_timeout_ms: z.int().min(1).default(120_000),
  /** Longest silence between two stream chunks (or body pieces), in milliseconds. */
  idle_timeout_ms: z.int().min(1).default(60_000),
  /** Retries at this provider after the first try; 0 turns them off. */
  max_retries: nonNegativeInt.max(10).default(2),
  /** Backoff before retry n is retry_base_ms · 2^(n-1), capped at retry_max_ms, with jitter (50-100%). */
  retry_base_ms: nonNegativeInt.default(500),
  /**
   * This provider's own cassettes, instead of the top-level `cassettes:`: for
   * example `{mode: replay, dir: test/cassettes/checkout}` makes the provider
   * answer from recordings (a route to it points at a cassette set).
   */
  cassettes: cassettesSchema.optional(),
  /** Longest wait before a retry; a longer `retry-after` is not waited for (the router falls back at once). */
  retry_max_ms: nonNegativeInt.default(8_000),
  /**
   * Largest answer read from the upstream, in bytes (a whole JSON answer, or
   * all of a stream); past it the answer is dropped and the client gets 502.
   * Default 32 MiB, far above any text answer.
   */
  max_response_bytes: z.int().min(1).default(32 * 1024 * 1024),
};

/** The mock provider: canned, deterministic answers with simulated latency and failures. */
export const mockProviderSchema = z.strictObject({
  type: z.literal('mock'),
  ...providerCommon,
  /** Simulated latency (time to the answer, or to the first chunk of a stream). */
  latency_ms: latencySchema.default(0),
  /** Delay between stream chunks, in milliseconds. */
  chunk_delay_ms: nonNegativeInt.default(0),
  /** Probability (0 to 1) that a call fails with `failure`. */
  failure_rate: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be from 0 to 1' }).max(1, { error: 'must be from 0 to 1 (0.2 fails one call in five)' }).default(0),
  /** What an injected failure is. */
  failure: failureKindSchema.default(500),
  /** For `failure: disconnect` on a stream: how many chunks are sent before the cut. */
  disconnect_after_chunks: nonNegativeInt.default(0),
  /** Seed of the deterministic random sequence (failures, latency jitter). */
  seed: z.int().default(0),
  /**
   * What an injected failure tells the client about retrying: `immediate`
   * (`retry-after-ms: 1`, so the official SDKs retry at once and error-path
   * tests stay fast) or `realistic` (what the real APIs send: `retry-after: 1`
   * on 429, nothing otherwise, so SDKs back off as in production).
   */
  retry_after: z.enum(['immediate', 'realistic'], { error: 'must be "immediate" or "realistic"' }).default('immediate'),
  /** Canned answers, keyed by requested model. */
  responses: z.record(z.string(), modelResponsesSchema).default({}),
  /**
   * A request no rule or pattern matches gets: `default`, the model's default
   * answer (else a generated one); `generate`, a generated answer even when
   * the model has a default; `error`, an error naming the closest rule, so
   * that a test fails loudly.
   */
  on_unmatched: onUnmatchedSchema.default('default'),
});

/** OpenAI, or any server that speaks the OpenAI API. */
export const openaiProviderSchema = z.strictObject({
  type: z.literal('openai'),
  ...providerCommon,
  ...httpProviderCommon,
  /** API key; usually `${OPENAI_API_KEY}`. */
  api_key: z.string().optional(),
  /** `OpenAI-Organization` header. */
  organization: z.string().optional(),
  /** `OpenAI-Project` header. */
  project: z.string().optional(),
});

/** Anthropic's Messages API. */
export const anthropicProviderSchema = z.strictObject({
  type: z.literal('anthropic'),
  ...providerCommon,
  ...httpProviderCommon,
  /** API key; usually `${ANTHROPIC_API_KEY}`. */
  api_key: z.string().optional(),
  /** `anthropic-version` header sent upstream. */
  anthropic_version: z.string().default('2023-06-01'),
  /** `max_tokens` sent when the client gives none (Anthropic requires one; 4096 is the most every Claude 3+ model allows). */
  default_max_tokens: z.int().min(1).default(4096),
});

/**
 * A provider of your own: its implementation is passed to `startProxy({ providers })` (or
 * built by your `providerFactory`); the config names it, routes to it, and may give it
 * `options`, which TokenPak passes on unread.
 */
export const customProviderSchema = z.strictObject({
  type: z.literal('custom'),
  /** `enabled`, and `timeout_ms`, `base_url` and `headers` for your factory to use if it wants them. */
  ...providerCommon,
  /** Anything else your provider's factory reads. */
  options: z.record(z.string(), z.unknown()).default({}),
});

export const providerSchema = z.discriminatedUnion('type', [mockProviderSchema, openaiProviderSchema, anthropicProviderSchema, customProviderSchema], {
  error: 'type must be one of "mock", "openai", "anthropic" or "custom"',
});

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'must be a name, or a list of names',
});

const perMinute = (what: string) =>
  z.int({ error: `must be a whole number of ${what} per minute (1 or more)` }).min(1, { error: `must be 1 or more ${what} per minute; remove the line for no limit` });
const centsLimit = (per: string) =>
  z.number({ error: `must be a number of US cents per ${per} (500 is $5.00)` }).positive({ error: `must be more than 0 cents per ${per}; remove the line for no limit` });

/**
 * Rate limits, over any rolling minute. Requests are counted as they are
 * admitted; tokens (input plus output) once the call is over, so a request
 * is refused when the tokens of the last minute have reached the limit.
 */
export const rateLimitsSchema = z.strictObject({
  /** Requests admitted in any 60 seconds. */
  requests_per_minute: perMinute('requests').optional(),
  /** Input plus output tokens of the calls of the last 60 seconds. */
  tokens_per_minute: perMinute('tokens').optional(),
});
export type RateLimits = z.output<typeof rateLimitsSchema>;

/** A client key's limits: rates, and spend in US cents per UTC calendar day and month. */
export const keyLimitsSchema = rateLimitsSchema.extend({
  /** Spend of the current UTC day; once reached, the key's requests are refused until midnight UTC. */
  cents_per_day: centsLimit('day').optional(),
  /** Spend of the current UTC month; once reached, the key's requests are refused until the 1st, 00:00 UTC. */
  cents_per_month: centsLimit('month').optional(),
});
export type KeyLimits = z.output<typeof keyLimitsSchema>;

/** How one model name is routed. */
export const routeSchema = z.strictObject({
  /** The provider tried first. */
  provider: z.string().min(1),
  /** Upstream model name at the primary provider (default: the route's own name). */
  model: z.string().min(1).optional(),
  /** Provider(s) tried in order after a retryable failure of the primary. */
  fallback_provider: oneOrMany.optional(),
  /**
   * Upstream model name at the fallbacks: one name for all of them, or a map
   * from provider name to model name (default: the route's own name).
   */
  fallback_model: z
    .union([z.string().min(1), z.record(z.string(), z.string().min(1))], {
      error: 'must be a model name, or a map from fallback provider name to model name',
    })
    .optional(),
  /** Other routes whose providers are tried after this route's own, in order. */
  fallback_route: oneOrMany.optional(),
  /** Rate limits of this model, all clients together (spend limits are per client key: `server.auth.keys[].limits`). */
  limits: rateLimitsSchema.optional(),
});

const sizeSchema = z.union([
  z.int().min(1),
  z.string().regex(/^\s*\d+(\.\d+)?\s*(b|kb|kib|mb|mib)?\s*$/i, { error: 'must be a size such as 1048576, "512kb" or "4mb"' }),
]);

/** One client key: the key itself, or the key with the models it may use. */
export const clientKeySchema = z.union(
  [
    z.string().min(16, { error: 'is too short for a key: use 16 characters or more, for example the output of `openssl rand -hex 24`' }),
    z.strictObject({
      /** The key clients send (`Authorization: Bearer KEY` or `x-api-key: KEY`); usually `${VAR}`. */
      key: z.string().min(16, { error: 'is too short for a key: use 16 characters or more, for example the output of `openssl rand -hex 24`' }),
      /** Model names (keys of `models:`) this key may use; default: every model. */
      models: z.array(z.string().min(1)).min(1).optional(),
      /** Who holds the key, named in refusals and limit errors (the key itself never is). */
      name: z.string().min(1).max(100).optional(),
      /** Requests and tokens per minute, and spend per day and month, of this key (all its models together). */
      limits: keyLimitsSchema.optional(),
    }),
  ],
  { error: 'must be a key (usually ${VAR}), or {key, name, models, limits}' },
);
export type ClientKeySetting = z.output<typeof clientKeySchema>;

/** Client authentication: which keys clients must send. */
export const authSchema = z.strictObject({
  /**
   * Accepted client keys. A request without one of them gets 401 (403 for a
   * model its key may not use). `/healthz` needs no key.
   */
  keys: z.array(clientKeySchema).min(1, { error: 'needs at least one key, for example keys: ["${TOKENPAK_API_KEY}"]' }),
});

/** A browser origin: scheme, host and port, nothing else (`https://app.example.com`, `http://localhost:5173`). */
const originSchema = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
    } catch {
      return false;
    }
  },
  { error: 'must be an origin such as https://app.example.com or http://localhost:5173 (scheme, host and port; no path, no trailing slash)' },
);

export const serverSchema = z.strictObject({
  /** Interface to listen on. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port to listen on; 0 picks a free one. */
  port: z.int().min(0).max(65535).default(8000),
  /** Largest request body accepted; larger ones get 413. */
  body_limit: sizeSchema.default('4mb'),
  /** On SIGTERM/SIGINT, how long in-flight requests may take before they are cut. */
  shutdown_grace_ms: nonNegativeInt.default(10_000),
  /**
   * Client keys. Without `auth`, any client that can reach the port may use
   * the proxy, so a non-loopback `host` with an enabled real provider is
   * refused at start.
   */
  auth: authSchema.optional(),
  /**
   * Browser origins allowed to call the proxy (CORS). A request with any other
   * cross-site `Origin` is refused, and only these origins get preflight
   * answers and CORS headers.
   */
  cors_origins: z.array(originSchema).default([]),
  /**
   * Deepest nesting of arrays and objects accepted in a request body; deeper
   * bodies get 400 before they are parsed (real requests, tool schemas
   * included, stay far below it).
   */
  max_json_depth: z.int().min(1).max(10_000).default(100),
  /** Longest a client may take to send a request's headers, in milliseconds (slow clients are cut off with 408). */
  headers_timeout_ms: z.int().min(1).default(60_000),
  /** Longest a client may take to send a whole request, body included, in milliseconds (408 past it). */
  request_timeout_ms: z.int().min(1).default(300_000),
  /**
   * How long an idle keep-alive connection stays open, in milliseconds. Above
   * the usual 60 s idle timeout of load balancers and client pools, so that the
   * client side always closes first and never reuses a connection the proxy is closing.
   */
  keep_alive_timeout_ms: z.int().min(1).default(65_000),
  /** Most client connections open at once; further ones are closed at once. */
  max_connections: z.int().min(1).default(1_000),
  /**
   * Server-held conversations (Responses `previous_response_id`, Anthropic
   * message threads), kept in this process's memory: at most `max_count` of
   * them and `max_memory` in all (each counted at the JSON size of its whole
   * history), the least recently used dropped first. `max_count: 0` turns them off.
   */
  conversations: z
    .strictObject({
      max_count: z.int().min(0).default(1_000),
      max_memory: sizeSchema.default('64mb'),
    })
    .default({ max_count: 1_000, max_memory: '64mb' }),
}).refine((server) => server.headers_timeout_ms <= server.request_timeout_ms, {
  path: ['headers_timeout_ms'],
  error: 'must not be greater than request_timeout_ms (the headers are part of the request)',
});

export const logsSchema = z
  .strictObject({
    /**
     * Where calls are logged: `sqlite` (a file beside the proxy), `postgres`
     * (one database shared by several proxies) or `memory` (inside the
     * process, gone at exit). Default: sqlite for `tokenpak proxy`, memory for
     * the Vitest plugin.
     */
    store: z.enum(['sqlite', 'postgres', 'memory'], { error: 'must be "sqlite", "postgres" or "memory"' }).optional(),
    /** SQLite file, relative to the working directory. */
    path: z.string().min(1).default('.tokenpak/calls.db'),
    /** PostgreSQL connection URL, for `store: postgres`; usually `${DATABASE_URL}`. */
    url: z.string().regex(/^postgres(ql)?:\/\//, { error: 'must be a postgres:// URL, for example ${DATABASE_URL}' }).optional(),
    /** PostgreSQL schema holding TokenPak's tables (created when missing). */
    schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, { error: 'must be a plain SQL name (letters, digits, _)' }).default('public'),
    /** Keep request and response bodies in the log (never headers or keys). */
    capture_bodies: z.boolean().default(false),
    /** Most calls kept; the oldest are pruned. Default 1,000,000 (sqlite, postgres) or 100,000 (memory). */
    max_rows: z.int().min(1).optional(),
    /** Calls older than this are pruned: a duration such as "7d", "12h" or "30m". */
    max_age: z.string().regex(DURATION_PATTERN, { error: 'must be a duration such as "7d", "12h", "30m" or "90s"' }).optional(),
    /**
     * Most time a finished call waits in memory before it is written (sqlite,
     * postgres): what a killed process can lose. A graceful stop loses nothing.
     */
    flush_ms: z.int().min(1).max(10_000).default(100),
  })
  .refine((logs) => logs.store !== 'postgres' || logs.url !== undefined, {
    path: ['url'],
    error: 'is required for store: postgres, for example url: ${DATABASE_URL}',
  });

/**
 * OpenTelemetry traces (GenAI semantic conventions), sent over OTLP/HTTP. Traces are
 * on when this section is present, or when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; otherwise the OpenTelemetry SDK is
 * never loaded.
 */
export const telemetrySchema = z.strictObject({
  /** false turns traces off, also when the OTEL_EXPORTER_OTLP_* variables are set. */
  enabled: z.boolean().default(true),
  /**
   * The OTLP/HTTP traces URL, for example http://collector:4318/v1/traces. Default:
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces,
   * else http://localhost:4318/v1/traces.
   */
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, for example http://localhost:4318/v1/traces' }).optional(),
  /** Headers sent with every export (a tracing backend's API key: use ${VAR}). Default: OTEL_EXPORTER_OTLP_HEADERS. */
  headers: z.record(z.string(), z.string()).optional(),
  /** The `service.name` of the spans. Default: OTEL_SERVICE_NAME, else "tokenpak". */
  service_name: z.string().min(1).optional(),
});

/**
 * Prometheus metrics at `/metrics` (see the README's Operations section for the
 * names). On the proxy's own port they need a client key when `server.auth`
 * is set; on a separate `port` they need none (bind it to an interface only
 * the scraper reaches).
 */
export const metricsSchema = z.strictObject({
  /** Serve metrics; a `metrics:` section turns them on unless this is false. */
  enabled: z.boolean().default(true),
  /** A port of their own for `/metrics`; absent: the proxy's port. 0 picks a free one. */
  port: z.int().min(0).max(65535).optional(),
  /** Interface of the metrics port. */
  host: z.string().min(1).default('127.0.0.1'),
});

/** Price of one model, in US cents per million tokens. */
export const priceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
});

/**
 * Where state shared by replicas lives (the counters of rate limits and
 * budgets). Absent: in this process's memory, which is right for one replica.
 */
export const stateSchema = z.strictObject({
  /** A Redis URL (`redis://host:6379`, `rediss://…` for TLS); usually `${REDIS_URL}`. Every replica names the same one. */
  redis: z.string().regex(/^rediss?:\/\/./, { error: 'must be a redis:// or rediss:// URL, for example redis://127.0.0.1:6379 or ${REDIS_URL}' }),
  /** Prefix of TokenPak's keys in Redis, so that several fleets (or tests) can share one Redis. */
  prefix: z.string().min(1).max(200).default('tokenpak'),
});

export const configSchema = z.strictObject({
  /** Named providers. */
  providers: z.record(z.string(), providerSchema),
  /** Model name → route. */
  models: z.record(z.string(), routeSchema),
  server: serverSchema.default(serverSchema.parse({})),
  logs: logsSchema.default(logsSchema.parse({})),
  /** Prices that add to or override the built-in table, by upstream model name. */
  pricing: z.record(z.string(), priceSchema).default({}),
  /** Recording and replaying real providers' traffic. */
  cassettes: cassettesSchema.default(cassettesSchema.parse({})),
  /** Shared state for a fleet of replicas (`{redis: url}`); default: in memory. */
  state: stateSchema.optional(),
  /** OpenTelemetry traces; absent: off unless the OTEL_EXPORTER_OTLP_* variables say where to send them. */
  telemetry: telemetrySchema.optional(),
  /** Prometheus metrics; off when absent. */
  metrics: metricsSchema.optional(),
}).refine((config) => config.metrics?.port === undefined || config.metrics.port === 0 || config.metrics.port !== (config.server?.port ?? 8000), {
  path: ['metrics', 'port'],
  error: 'must differ from server.port (leave metrics.port out to serve /metrics on the proxy\'s own port)',
});

type RawInput = z.input<typeof configSchema>;
type ProviderInput = RawInput['providers'][string];
type RawMockInput = Extract<ProviderInput, { type: 'mock' }>;
type RawModelResponsesInput = NonNullable<RawMockInput['responses']>[string];
/**
 * Canned answers for one model as users write them: `patterns` is a mapping
 * from key to answers (in YAML, file order is kept; the loader turns it into
 * the ordered pairs the schema checks). The pairs themselves are accepted too.
 */
export type ModelResponsesInput = Omit<RawModelResponsesInput, 'patterns'> & {
  patterns?: Record<string, z.input<typeof answersSchema>> | RawModelResponsesInput['patterns'];
};
/** A mock provider as users write it. */
export type MockProviderInput = Omit<RawMockInput, 'responses'> & { responses?: Record<string, ModelResponsesInput> };
/** A config as users write it (in YAML, or given to `defineConfig()`). */
export type ConfigInput = Omit<RawInput, 'providers'> & {
  providers: Record<string, Exclude<ProviderInput, { type: 'mock' }> | MockProviderInput>;
};
export type ParsedConfig = z.output<typeof configSchema>;
export type ProviderSettings = z.output<typeof providerSchema>;
export type MockProviderSettings = z.output<typeof mockProviderSchema>;
export type OpenAIProviderSettings = z.output<typeof openaiProviderSchema>;
export type AnthropicProviderSettings = z.output<typeof anthropicProviderSchema>;
export type CustomProviderSettings = z.output<typeof customProviderSchema>;
export type CassettesSettings = z.output<typeof cassettesSchema>;
export type StateSettings = z.output<typeof stateSchema>;
export type TelemetrySettings = z.output<typeof telemetrySchema>;
export type MetricsSettings = z.output<typeof metricsSchema>;
export type RouteSettings = z.output<typeof routeSchema>;
export type ModelResponses = z.output<typeof modelResponsesSchema>;
export type ProviderType = ProviderSettings['type'];
