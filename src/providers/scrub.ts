/**
 * The one place provider error text is cleaned before it reaches a client,
 * the call log or stderr: every configured secret is redacted, and (unless
 * `logs.capture_bodies` keeps the prompt in the log anyway) prompt text the
 * upstream quoted back is elided. Wrapping the provider, rather than each
 * place an upstream message is built, covers errors thrown before a stream,
 * error events inside one, and messages of any future provider alike.
 */
import type { ChatRequest, StreamEvent } from '../canonical/types.ts';
import { TokenPakError } from '../errors.ts';
import { redact, stripPrompt } from '../util/redact.ts';
import type { Provider } from './types.ts';

export interface ScrubOptions {
  /** Values never shown (the config's secrets). */
  secrets: readonly string[];
  /** Elide prompt text that the upstream echoed in its error. */
  stripPrompt: boolean;
}

/**
 * Codes of errors whose text TokenPak writes itself, quoting no upstream: their
 * prompt lines are what the user needs (a cassette miss shows how the request
 * differs from the closest recording), so only secrets are removed from them.
 */
const OWN_TEXT: ReadonlySet<string> = new Set(['cassette_miss']);

/** `provider` with the text of its errors cleaned (see the module comment). */
export function scrubProvider(provider: Provider, options: ScrubOptions): Provider {
  const clean = <E>(error: E, request: ChatRequest): E => {
    if (!TokenPakError.is(error)) return error;
    let text = redact(error.detail, options.secrets);
    if (options.stripPrompt && !OWN_TEXT.has(error.code)) text = stripPrompt(text, promptTexts(request));
    if (text !== error.detail) {
      // The same error object keeps its class, code, status and cause; only its text changes (the stack too, which starts with it).
      const before = error.message;
      error.message = `[tokenpak] ${text}`;
      if (error.stack) error.stack = error.stack.replace(before, error.message);
    }
    return error;
  };
  // The prototype keeps whatever else the provider exposes (getters, controls).
  const scrubbed: Provider = Object.create(provider);
  return Object.assign(scrubbed, {
    async complete(request: ChatRequest, call?: Parameters<Provider['complete']>[1]) {
      try {
        return await provider.complete(request, call);
      } catch (error) {
        throw clean(error, request);
      }
    },
    async *stream(request: ChatRequest, call?: Parameters<Provider['stream']>[1]): AsyncGenerator<StreamEvent> {
      try {
        for await (const event of provider.stream(request, call)) {
          yield event.type === 'error' ? { ...event, error: clean(event.error, request) } : event;
        }
      } catch (error) {
        throw clean(error, request);
      }
    },
  });
}

/** The texts of a request an upstream might quote back: system prompt, messages, tool calls and results. */
function promptTexts(request: ChatRequest): string[] {
  const texts = request.system ? [request.system] : [];
  for (const message of request.messages) {
    for (const part of message.content) {
      if (part.type === 'text') texts.push(part.text);
      else if (part.type === 'tool-call') texts.push(part.arguments);
      else if (part.type === 'tool-result') texts.push(part.content);
    }
  }
  return texts;
}
