/**
 * Hard-coded hosts: which requests from the code under test are TokenPak's
 * to answer (`https://api.openai.com`, `https://api.anthropic.com`), which go
 * to other LLM APIs (and get the `unhandledLLMHosts` policy), and which are
 * none of TokenPak's business.
 */
import type { TokenPakVitestOptions } from './options-check.ts';

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

/** What to do with a request to a host that is not the run's TokenPak. */
export type HostDecision = 'forward' | 'refuse' | 'warn' | 'pass';

/** Decides per request, from the plugin's options. */
export function hostPolicy(options: TokenPakVitestOptions): (url: URL) => HostDecision {
  if (options.interceptHosts === false) return () => 'pass';
  const policy = options.unhandledLLMHosts ?? 'error';
  const others = [...OTHER_LLM_HOSTS, ...(options.llmHosts ?? []).map(hostPattern)];
  return (url) => {
    const host = url.hostname.toLowerCase();
    if (url.protocol === 'https:' && FORWARDED.has(host)) return 'forward';
    if (policy === 'bypass' || !matchesHost(host, others)) return 'pass';
    return policy === 'warn' ? 'warn' : 'refuse';
  };
}
