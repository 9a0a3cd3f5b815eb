/**
 * Clients that do not use `fetch` (`http.request`, axios): with
 * `interceptHosts: true`, msw (an optional peer dependency, imported only
 * then) intercepts their requests in the test process and hands TokenPak's
 * share (the run's TokenPak, hard-coded API hosts, other LLM hosts) to the
 * same handler as `fetch` calls, so they are tagged with the calling test too.
 * Every other request passes through untouched.
 */
import { TokenPakError } from '../errors.ts';
import { REQUEST_HEADER } from './protocol.ts';

/** Starts intercepting; resolves with a function that stops. */
export async function startInterception(handle: (request: Request) => Promise<Response> | undefined): Promise<() => void> {
  let msw: typeof import('msw');
  let mswNode: typeof import('msw/node');
  try {
    msw = await import('msw');
    mswNode = await import('msw/node');
  } catch (error) {
    throw new TokenPakError(
      'config_invalid',
      `interceptHosts: true needs msw, which cannot be loaded (${(error as Error).message.split('\n')[0]}). Install it (npm install --save-dev msw), or leave interceptHosts unset (fetch calls are intercepted without msw).`,
      { cause: error },
    );
  }
  // msw runs the handler in the calling test's async context, so the call is attributed to that test.
  // Should msw see a request TokenPak itself sends (tagged; loopback.ts uses node:http as it was before msw), it passes through.
  const server = mswNode.setupServer(msw.http.all(/^https?:\/\//, ({ request }) => (request.headers.has(REQUEST_HEADER) ? undefined : handle(request))));
  // msw 3 calls it onUnhandledFrame, msw 2 onUnhandledRequest: requests we do not answer go to the network untouched.
  server.listen({ onUnhandledFrame: 'bypass', onUnhandledRequest: 'bypass' } as Parameters<typeof server.listen>[0]);
  return () => server.close();
}
