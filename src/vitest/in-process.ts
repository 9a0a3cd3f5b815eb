/**
 * `fetch` calls to the file's TokenPak are answered in the test's own process:
 * the request goes through TokenPak's whole app (parse, route, mock, render),
 * only the loopback socket is skipped. That makes a call about as cheap as a
 * stubbed one, and it runs in the calling test's async context, so it is
 * attributed to that test even among concurrent tests. Every other request
 * goes to the `fetch` that was there before, untouched.
 */

/** Installs the shortcut; the returned function removes it. */
export function answerFetchInProcess(origin: string, handle: (request: Request) => Promise<Response>): () => void {
  const previous = globalThis.fetch;
  const ours = (url: string) => url.startsWith(origin) && (url.length === origin.length || url[origin.length] === '/');
  const fetchWithShortcut: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!ours(url)) return previous(input, init);
    // duplex is required by undici's Request for stream bodies and harmless for others.
    return handle(new Request(input, init ? ({ ...init, duplex: 'half' } as RequestInit) : undefined));
  };
  globalThis.fetch = fetchWithShortcut;
  return () => {
    // Put the previous fetch back only if nobody wrapped ours since.
    if (globalThis.fetch === fetchWithShortcut) globalThis.fetch = previous;
  };
}
