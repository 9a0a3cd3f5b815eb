/**
 * Hard-coded hosts: app code that calls `https://api.openai.com` or
 * `https://api.anthropic.com` directly is intercepted in the test process with
 * msw (an optional peer dependency, imported only here) and answered by the
 * running test's TokenPak. Calls to other LLM APIs follow a policy; every other
 * request passes through untouched.
 */
import { TokenPakError } from '../errors.ts';
import type { TokenPakVitestOptions } from './options.ts';
import { rewrite } from './rewrite.ts';
import type { Scope } from './scope.ts';

/** Hosts answered by TokenPak: their paths are TokenPak's paths (`/v1/chat/completions`, `/v1/messages`, …). */
const FORWARDED = new Set(['api.openai.com', 'api.anthropic.com']);

/** Other LLM API hosts: a host name matches itself and its subdomains. */
const OTHER_LLM_HOSTS: ReadonlyArray<string | RegExp> = [
  'api.mistral.ai',
  'generativelanguage.googleapis.com',
  'aiplatform.googleapis.com',
  'api.groq.com',
  'api.cohere.ai',
  'api.cohere.com',
  'api.together.xyz',
  'api.fireworks.ai',
  'api.deepseek.com',
  'api.x.ai',
  'api.perplexity.ai',
  'openrouter.ai',
  'api.replicate.com',
  'api-inference.huggingface.co',
  'router.huggingface.co',
  'openai.azure.com',
  /^bedrock-runtime\.[a-z0-9-]+\.amazonaws\.com$/,
];

function hostPattern(entry: string): string | RegExp {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(entry);
  return regex ? new RegExp(regex[1]!, regex[2]) : entry.toLowerCase();
}

function matchesHost(host: string, patterns: ReadonlyArray<string | RegExp>): boolean {
  return patterns.some((p) => (typeof p === 'string' ? host === p || host.endsWith(`.${p}`) : p.test(host)));
}

/** What interception needs from the session. */
export interface InterceptTarget {
  /** The file's TokenPak URL. */
  readonly url: string;
  currentScope(): Scope;
  fetchInProcess(request: Request): Promise<Response>;
}

function noteOnce(target: InterceptTarget, text: string): void {
  const scope = target.currentScope();
  if (!scope.notes.includes(text)) scope.notes.push(text);
}

/** Starts intercepting; resolves with a function that stops. Without msw, does nothing (or throws when asked for explicitly). */
export async function startInterception(target: InterceptTarget, options: TokenPakVitestOptions): Promise<() => void> {
  let msw: typeof import('msw');
  let mswNode: typeof import('msw/node');
  try {
    msw = await import('msw');
    mswNode = await import('msw/node');
  } catch (error) {
    if (options.interceptHosts !== true) return () => {};
    throw new TokenPakError(
      'config_invalid',
      `interceptHosts: true needs msw, which cannot be loaded (${(error as Error).message.split('\n')[0]}). Install it (npm install --save-dev msw), or set interceptHosts: false.`,
      { cause: error },
    );
  }
  const policy = options.unhandledLLMHosts ?? 'error';
  if (!['bypass', 'warn', 'error'].includes(policy)) {
    throw new TokenPakError('config_invalid', `unhandledLLMHosts must be "bypass", "warn" or "error", not ${JSON.stringify(policy)}.`);
  }
  const others = [...OTHER_LLM_HOSTS, ...(options.llmHosts ?? []).map(hostPattern)];
  const warned = new Set<string>();

  const own = new URL(target.url).origin;
  const handler = msw.http.all(/^https?:\/\//, async ({ request }) => {
    const url = new URL(request.url);
    // Calls to this TokenPak (OPENAI_BASE_URL and friends) are answered in-process: no socket, and
    // the request is known to come from the test whose code made it, even among concurrent tests.
    if (url.origin === own) return target.fetchInProcess(request);
    const host = url.hostname.toLowerCase();
    if (url.protocol === 'https:' && FORWARDED.has(host)) {
      noteOnce(target, `calls to https://${host} (hard-coded in the code under test) were intercepted and answered by this TokenPak`);
      return target.currentScope().fetch(rewrite(request, `${url.pathname}${url.search}`, 'http://127.0.0.1'));
    }
    if (!matchesHost(host, others) || policy === 'bypass') return undefined;
    const called = `The code under test called ${request.method} ${url.origin}${url.pathname}, an LLM API that TokenPak does not answer`;
    if (policy === 'warn') {
      if (!warned.has(host)) console.warn(`[tokenpak] ${called}; letting it through (unhandledLLMHosts: "warn"). Point that client at TokenPak (tokenpak.url), or set unhandledLLMHosts: "error" to refuse such calls.`);
      warned.add(host);
      noteOnce(target, `let through a call to ${url.origin} (unhandledLLMHosts: "warn")`);
      return undefined;
    }
    noteOnce(target, `refused a call to ${url.origin}${url.pathname} (unhandledLLMHosts: "error")`);
    const message = `${called}. Point that client at TokenPak (tokenpak.url), or set unhandledLLMHosts: "warn" or "bypass" to let such calls through.`;
    return Response.json({ error: { type: 'tokenpak_blocked_host', message: `[tokenpak] ${message}` } }, { status: 403 });
  });

  const server = mswNode.setupServer(handler);
  // msw 3 calls it onUnhandledFrame, msw 2 onUnhandledRequest: requests we do not answer go to the network untouched.
  server.listen({ onUnhandledFrame: 'bypass', onUnhandledRequest: 'bypass' } as Parameters<typeof server.listen>[0]);
  return () => server.close();
}
