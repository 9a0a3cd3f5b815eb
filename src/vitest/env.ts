/**
 * The environment a test file runs in: the official SDKs read their base URL
 * from it, and their constructors insist on a key (a dummy one never leaves
 * this machine: TokenPak does not forward it).
 */
const KEYS = ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'TOKENPAK_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;

/** The API key a test file's SDKs get when the environment has none (it never leaves this machine). */
export const PLACEHOLDER_KEY = 'tokenpak-test-key';

/** Points the SDKs at `url` (a worker's shared TokenPak URL); returns a function that restores what was there. */
export function pointEnvironmentAt(url: string): () => void {
  const saved = Object.fromEntries(KEYS.map((key) => [key, process.env[key]]));
  process.env.OPENAI_API_KEY ||= PLACEHOLDER_KEY;
  process.env.ANTHROPIC_API_KEY ||= PLACEHOLDER_KEY;
  process.env.TOKENPAK_URL = url;
  process.env.OPENAI_BASE_URL = `${url}/v1`;
  process.env.ANTHROPIC_BASE_URL = url;
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
