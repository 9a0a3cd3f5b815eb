/**
 * Keeps API keys out of everything TokenPak prints, logs or sends to clients.
 * Upstream error messages are passed on to clients, and some upstreams echo
 * (part of) the key back, for example OpenAI's "Incorrect API key provided:
 * sk-proj-****abcd".
 */

// Shapes of OpenAI (`sk-…`, `sk-proj-…`) and Anthropic (`sk-ant-…`) keys, masked or not.
const KEY_LIKE = /\bsk-[A-Za-z0-9_*-]{6,}/g;

/** `text` with every secret, and anything shaped like an API key, replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Short values ("x", "test") would shred ordinary words; real keys are long.
    if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  }
  return out.replace(KEY_LIKE, '[redacted]');
}
