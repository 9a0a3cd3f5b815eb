/**
 * Stand-ins for `Request` and `Response` on the node:http hot path. Building
 * undici's real objects costs more than the rest of a mock answer (a Request
 * follows its signal through a WeakRef and a FinalizationRegistry, and every
 * body becomes a web stream), so the adapter hands the app a Request whose
 * common fields are plain values, and the app answers JSON with a Response
 * that the adapter writes straight to the socket. Both are `instanceof` the
 * real classes, and anything else about them (`clone()`, `json()`, ...)
 * builds the real object on first use and delegates to it, so code written
 * for the fetch API sees no difference. (The same idea as @hono/node-server.)
 * One exception: undici's own `new Request(request)` and `fetch(request)`
 * reject the stand-in; forward a request by its fields instead, as
 * src/vitest/rewrite.ts does.
 */

const PARTS = Symbol('tokenpak.parts');
const REAL = Symbol('tokenpak.real');

/** What the node adapter knows about a request without building a `Request`. */
export interface RequestParts {
  url: string;
  method: string;
  headers: Headers;
  signal: AbortSignal;
  /** null for GET and HEAD. */
  body: ReadableStream<Uint8Array> | null;
}

/** A JSON answer as the adapter writes it. */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Makes every member of `real`'s prototype delegate to a lazily built real object. */
function delegateAll<Real extends object>(target: object, realPrototype: Real, materialize: (self: never) => Real): void {
  for (const key of Object.getOwnPropertyNames(realPrototype)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(realPrototype, key)!;
    if (typeof descriptor.value === 'function') {
      Object.defineProperty(target, key, {
        configurable: true,
        value(this: never, ...args: unknown[]) {
          const real = materialize(this);
          return (Reflect.get(real, key) as (...a: unknown[]) => unknown).apply(real, args);
        },
      });
    } else {
      Object.defineProperty(target, key, {
        configurable: true,
        get(this: never) {
          return Reflect.get(materialize(this), key);
        },
      });
    }
  }
}

class LightweightRequest {
  [PARTS]: RequestParts;
  [REAL]?: Request;
  constructor(parts: RequestParts) {
    this[PARTS] = parts;
  }
}

function realRequest(self: LightweightRequest): Request {
  if (!self[REAL]) {
    const { url, method, headers, signal, body } = self[PARTS];
    // A body the app has already read cannot move into a new Request; the real one then has none.
    const usable = body !== null && !body.locked;
    self[REAL] = new Request(url, { method, headers, signal, ...(usable ? { body, duplex: 'half' } : {}) } as RequestInit);
  }
  return self[REAL];
}

/**
 * Links the stand-ins to the real classes, on first use: touching `Request`
 * loads Node's bundled undici (about 60 ms at start-up), which a proxy served
 * by the node adapter's native path never needs.
 */
let linked = false;
function link(): void {
  if (linked) return;
  linked = true;
  Object.setPrototypeOf(LightweightRequest.prototype, Request.prototype);
  delegateAll(LightweightRequest.prototype, Request.prototype, realRequest);
  linkRequestFields();
  Object.setPrototypeOf(LightweightResponse.prototype, Response.prototype);
  delegateAll(LightweightResponse.prototype, Response.prototype, realResponse);
  Object.defineProperty(LightweightResponse.prototype, 'status', {
    configurable: true,
    get(this: LightweightResponse) {
      return this[PARTS].status;
    },
  });
}

function linkRequestFields(): void {
  for (const key of ['url', 'method', 'headers', 'signal', 'body'] as const) {
    Object.defineProperty(LightweightRequest.prototype, key, {
      configurable: true,
      get(this: LightweightRequest) {
        return this[REAL] ? this[REAL][key] : this[PARTS][key];
      },
    });
  }
  Object.defineProperty(LightweightRequest.prototype, 'bodyUsed', {
    configurable: true,
    get(this: LightweightRequest) {
      return this[REAL] ? this[REAL].bodyUsed : this[PARTS].body?.locked === true;
    },
  });
}

/** A `Request` from the adapter's parts; undici's Request is built only if something needs more. */
export function lightweightRequest(parts: RequestParts): Request {
  link();
  return new LightweightRequest(parts) as unknown as Request;
}

class LightweightResponse {
  [PARTS]: PlainResponse;
  [REAL]?: Response;
  constructor(parts: PlainResponse) {
    this[PARTS] = parts;
  }
}
function realResponse(self: LightweightResponse): Response {
  if (!self[REAL]) {
    const { status, headers, body } = self[PARTS];
    self[REAL] = new Response(body, { status, headers });
  }
  return self[REAL];
}


/** A JSON `Response` (the body already serialized) that the node adapter can write without reading it back. */
export function jsonResponse(status: number, body: string, headers: Record<string, string>): Response {
  link();
  return new LightweightResponse({ status, headers: { 'content-type': 'application/json', ...headers }, body }) as unknown as Response;
}

/**
 * The plain parts of a `jsonResponse()` nobody has touched, or undefined (a
 * real Response, or one whose body or headers were used: the real object is
 * then what counts).
 */
export function plainResponse(response: Response): PlainResponse | undefined {
  if (!(response instanceof LightweightResponse) || response[REAL]) return undefined;
  return response[PARTS];
}
