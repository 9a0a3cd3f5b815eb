/** The Vercel AI SDK's providers pointed at a TokenPak proxy, for the `ai` tests. */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';

export type AiSdkApi = 'openai responses' | 'openai chat' | 'anthropic';

export interface AiSdkClients {
  openai: ReturnType<typeof createOpenAI>;
  /** A model of each API by id: `openai(id)` (Responses), `openai.chat(id)`, `anthropic(id)`. */
  models: Record<AiSdkApi, (id: string) => LanguageModel>;
}

export function aiSdkClients(proxyUrl: string): AiSdkClients {
  const openai = createOpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: 'sk-test-not-used' });
  // @ai-sdk/anthropic's baseURL includes /v1 (the official SDK's does not).
  const anthropic = createAnthropic({ baseURL: `${proxyUrl}/v1`, apiKey: 'sk-ant-test-not-used' });
  return {
    openai,
    models: {
      'openai responses': (id) => openai(id),
      'openai chat': (id) => openai.chat(id),
      anthropic: (id) => anthropic(id),
    },
  };
}
