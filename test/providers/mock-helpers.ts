import type { ChatRequest, StreamEvent } from '../../src/canonical/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMockProvider, type MockProvider } from '../../src/providers/mock/mock-provider.ts';

/**
 * A mock provider from the YAML of its settings, read through the real config
 * loader (so pattern order and defaults are as in a file). `settings` is
 * indented as the body of `providers.mock`.
 */
export function mockFromYaml(settings = ''): MockProvider {
  const config = parseConfig(`providers:\n  mock:\n    type: mock\n${settings}models:\n  m: {provider: mock}\n`, { env: {} });
  const mock = config.providers.mock!;
  if (mock.type !== 'mock') throw new Error('not a mock');
  return createMockProvider('mock', mock);
}

/** A request whose last user message is `prompt`. */
export function ask(prompt: string, extra: Partial<ChatRequest> & { model?: string } = {}): ChatRequest {
  return { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], ...extra };
}

export async function textOfComplete(provider: MockProvider, request: ChatRequest): Promise<string> {
  const response = await provider.complete(request);
  return response.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

export async function events(stream: AsyncIterable<StreamEvent>): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const out: StreamEvent[] = [];
  try {
    for await (const event of stream) out.push(event);
  } catch (error) {
    return { events: out, error };
  }
  return { events: out };
}

export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
