/**
 * The worker's `fetch` hook: calls meant for TokenPak (the run's TokenPak
 * URL, hard-coded API hosts) are handed to the file session, which tags them
 * with the test whose code made them (it runs in that test's async context)
 * and sends them to the run's TokenPak (loopback.ts). Every other request
 * goes to the `fetch` that was there before, untouched.
 */

interface Hook {
  readonly wrapper: typeof fetch;
  /** The fetch the wrapper passes other requests to (the one found when it was last installed). */
  underlying: typeof fetch;
  route: { claims: (url: string) => boolean; handle: (request: Request) => Promise<Response> | undefined } | undefined;
}

const HOOK = Symbol.for('tokenpak.vitest.fetch');

/**
 * One wrapper per process, routing to whichever file's session is current:
 * without test isolation, an SDK client made while one test file ran keeps
 * the `fetch` it found, and must reach the next file's session through it.
 */
function hook(): Hook {
  const global = globalThis as Record<symbol, Hook | undefined>;
  const existing = global[HOOK];
  if (existing) return existing;
  const state: Hook = {
    underlying: globalThis.fetch,
    route: undefined,
    wrapper: (input, init) => {
      const route = state.route;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!route || !route.claims(url)) return state.underlying(input, init);
      // duplex is required by undici's Request for stream bodies and harmless for others.
      const request = new Request(input, init ? ({ ...init, duplex: 'half' } as RequestInit) : undefined);
      return route.handle(request) ?? state.underlying(request);
    },
  };
  global[HOOK] = state;
  return state;
}

/** Hands `fetch` calls that `claims` to `handle` (undefined: let it through) until the returned function is called. */
export function hookFetch(claims: (url: string) => boolean, handle: (request: Request) => Promise<Response> | undefined): () => void {
  const state = hook();
  if (globalThis.fetch !== state.wrapper) state.underlying = globalThis.fetch;
  const route = { claims, handle };
  state.route = route;
  globalThis.fetch = state.wrapper;
  return () => {
    if (state.route === route) state.route = undefined;
    // Put the previous fetch back only if nobody wrapped ours since.
    if (globalThis.fetch === state.wrapper) globalThis.fetch = state.underlying;
  };
}
