/**
 * Token estimates for providers that do not count (the mock).
 *
 * Rule: a text costs ceil(characters / 4) tokens (OpenAI's rule of thumb for
 * English); each message adds 3 tokens of framing; tool definitions count as
 * their JSON text. Output counts its text and each tool call's name and
 * arguments.
 */
import type { ChatRequest, ContentPart } from '../../canonical/types.ts';

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function partTokens(part: ContentPart): number {
  switch (part.type) {
    case 'text':
      return estimateTokens(part.text);
    case 'tool-call':
      return estimateTokens(part.name) + estimateTokens(part.arguments);
    case 'tool-result':
      return estimateTokens(part.content);
    case 'image':
      // A flat figure: real providers charge by pixel count, which we do not know.
      return 85;
  }
}

export function estimateInputTokens(request: ChatRequest): number {
  let total = request.system ? estimateTokens(request.system) + 3 : 0;
  for (const message of request.messages) {
    total += 3;
    for (const part of message.content) total += partTokens(part);
  }
  if (request.tools?.length) total += estimateTokens(JSON.stringify(request.tools));
  return total;
}

export function estimateOutputTokens(content: readonly ContentPart[]): number {
  let total = 0;
  for (const part of content) total += partTokens(part);
  return total;
}
