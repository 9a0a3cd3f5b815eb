/**
 * Keeps API keys (and, when asked, prompt text) out of everything TokenPak
 * prints, logs or sends to clients. Upstream error messages are passed on to
 * clients and to the call log, and upstreams echo what they were sent: part
 * of the key ("Incorrect API key provided: sk-proj-****abcd"), a header, or
 * the prompt ("… in your message 'my card number is …'").
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';
/** What replaces prompt text an upstream echoed. */
export const PROMPT_ELIDED = '[prompt text]';

// Shapes of OpenAI (`sk-…`, `sk-proj-…`) and Anthropic (`sk-ant-…`) keys, masked or not.
const KEY_LIKE = /\bsk-[A-Za-z0-9_*-]{6,}/g;
// A masked key of any shape, as upstreams print them: `abcd****wxyz`.
const MASKED = /[A-Za-z0-9_-]*\*{4,}[A-Za-z0-9_-]*/g;
// Short values ("x", "test") would shred ordinary words; real keys are long.
const MIN_SECRET = 8;
// An echo of a part of a secret this long is redacted too (a key cut short, or only its tail).
const SECRET_RUN = 12;
// Prompt text echoed in runs at least this long is elided; shorter runs are ordinary words.
const PROMPT_RUN = 16;

/** `text` with every secret, and anything shaped like an API key, replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const long: string[] = [];
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET) continue;
    out = out.split(secret).join(REDACTED);
    if (secret.length >= SECRET_RUN) long.push(secret);
  }
  if (long.length > 0) out = maskSharedRuns(out, long, SECRET_RUN, REDACTED);
  return out.replace(KEY_LIKE, REDACTED).replace(MASKED, REDACTED);
}

/** A function that redacts a fixed list of secrets (see {@link redact}). */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  return (text) => redact(text, secrets);
}

/**
 * `text` with every stretch of at least 16 characters that also occurs in
 * one of `prompt` (the request's texts) replaced by `[prompt text]`, so an
 * upstream that quotes the prompt back, whole or in part, does not put it in
 * the call log. Shorter overlaps (words, model names) stay.
 */
export function stripPrompt(text: string, prompt: readonly string[]): string {
  return maskSharedRuns(text, prompt, PROMPT_RUN, PROMPT_ELIDED);
}

/**
 * Replaces every maximal stretch of `text` covered by windows of `run`
 * characters that also occur in one of `sources`. Linear in the sizes: the
 * text's windows go into a table by rolling hash, and each source is scanned
 * once with the same hash (a prompt of megabytes costs milliseconds), with a
 * character comparison on every hash hit.
 */
export function maskSharedRuns(text: string, sources: readonly string[], run: number, replacement: string): string {
  const n = text.length;
  if (n < run) return text;
  const windows = n - run + 1;
  // Hashes of the text's windows, a bitmap to skip most lookups, and start positions by hash.
  const BASE = 0x01000193;
  let top = 1; // BASE^(run-1) mod 2^32
  for (let i = 1; i < run; i++) top = Math.imul(top, BASE);
  const bitmap = new Uint8Array(1 << 16);
  const starts = new Map<number, number[]>();
  let h = 0;
  for (let i = 0; i < n; i++) {
    if (i >= run) h = (h - Math.imul(text.charCodeAt(i - run), top)) | 0;
    h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
    if (i >= run - 1) {
      bitmap[h >>> 16] = 1;
      const list = starts.get(h);
      if (list) list.push(i - run + 1);
      else starts.set(h, [i - run + 1]);
    }
  }
  const found = new Uint8Array(windows);
  let remaining = windows;
  for (const source of sources) {
    if (source.length < run) continue;
    let s = 0;
    for (let j = 0; j < source.length && remaining > 0; j++) {
      if (j >= run) s = (s - Math.imul(source.charCodeAt(j - run), top)) | 0;
      s = (Math.imul(s, BASE) + source.charCodeAt(j)) | 0;
      if (j < run - 1 || bitmap[s >>> 16] === 0) continue;
      const list = starts.get(s);
      if (!list) continue;
      const from = j - run + 1;
      for (const start of list) {
        if (found[start] || !sameRun(text, start, source, from, run)) continue;
        found[start] = 1;
        remaining--;
      }
    }
  }
  if (remaining === windows) return text;
  const covered = new Uint8Array(n);
  for (let i = 0; i < windows; i++) if (found[i]) covered.fill(1, i, i + run);
  let out = '';
  for (let i = 0; i < n; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += replacement;
  }
  return out;
}

function sameRun(a: string, aFrom: number, b: string, bFrom: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a.charCodeAt(aFrom + k) !== b.charCodeAt(bFrom + k)) return false;
  return true;
}
