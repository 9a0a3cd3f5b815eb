/**
 * `fetch` calls to the file's TokenPak are answered in the test's own process:
 * the request goes through TokenPak's whole app (parse, route, mock, render),
 * only the loopback socket is skipped. That makes a call about as cheap as a
 * stubbed one, and it runs in the calling test's async context, so it is
 * attributed to that test even among concurrent tests. Every other request
 * goes to the `fetch` that was there before, untouched.
 */

interface Shortcut {
  readonly wrapper: typeof fetch;
  /** The fetch the wrapper passes other requests to (the one found when it was last installed). */
  underlying: typeof fetch;
  route: { origin: string; handle: (request: Request) => Promise<Response> } | undefined;
}

const SHORTCUT = Symbol.for('tokenpak.vitest.fetch');

/**
 * One wrapper per process, routing to whichever file's TokenPak is current:
 * without test isolation, an SDK client made while one test file ran keeps
 * the `fetch` it found, and must reach the next file's TokenPak through it.
 */
function shortcut(): Shortcut {
  const global = globalThis as Record<symbol, Shortcut | undefined>;
  const existing = global[SHORTCUT];
  if (existing) return existing;
  const state: Shortcut = {
    underlying: globalThis.fetch,
    route: undefined,
    wrapper: (input, init) => {
      const route = state.route;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const ours = route && url.startsWith(route.origin) && (url.length === route.origin.length || url[route.origin.length] === '/');
      if (!ours) return state.underlying(input, init);
      // duplex is required by undici's Request for stream bodies and harmless for others.
      return route.handle(new Request(input, init ? ({ ...init, duplex: 'half' } as RequestInit) : undefined));
    },
  };
  global[SHORTCUT] = state;
  return state;
}

/** Answers `fetch` calls to `origin` with `handle` until the returned function is called. */
export function answerFetchInProcess(origin: string, handle: (request: Request) => Promise<Response>): () => void {
  const state = shortcut();
  if (globalThis.fetch !== state.wrapper) state.underlying = globalThis.fetch;
  state.route = { origin, handle };
  globalThis.fetch = state.wrapper;
  return () => {
    if (state.route?.handle === handle) state.route = undefined;
    // Put the previous fetch back only if nobody wrapped ours since.
    if (globalThis.fetch === state.wrapper) globalThis.fetch = state.underlying;
  };
}
