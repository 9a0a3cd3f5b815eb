/**
 * A support desk: OpenAI summarizes and triages tickets, Anthropic drafts the
 * reply. Nothing here knows about TokenPak: the SDKs read OPENAI_BASE_URL and
 * ANTHROPIC_BASE_URL (and their API keys) from the environment.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

export type Priority = 'low' | 'normal' | 'high';

export interface SupportDesk {
  /** One sentence about the ticket. */
  summarize(ticket: string): Promise<string>;
  /** The ticket's priority, chosen by the model through a tool call. */
  triage(ticket: string): Promise<Priority>;
  /** A reply to the customer, streamed; `onText` sees each piece as it arrives. */
  draftReply(ticket: string, onText?: (text: string) => void): Promise<string>;
}

const SET_PRIORITY: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'set_priority',
    description: 'Set the priority of a support ticket.',
    parameters: {
      type: 'object',
      properties: { priority: { type: 'string', enum: ['low', 'normal', 'high'] } },
      required: ['priority'],
    },
  },
};

export function createSupportDesk(clients: { openai?: OpenAI; anthropic?: Anthropic } = {}): SupportDesk {
  const openai = clients.openai ?? new OpenAI();
  const anthropic = clients.anthropic ?? new Anthropic();
  return {
    async summarize(ticket) {
      const completion = await openai.chat.completions.create({
        model: 'gpt-4',
        messages: [
          { role: 'system', content: 'Summarize the support ticket in one sentence.' },
          { role: 'user', content: ticket },
        ],
      });
      return completion.choices[0]?.message.content ?? '';
    },

    async triage(ticket) {
      const completion = await openai.chat.completions.create({
        model: 'gpt-3.5-turbo',
        messages: [{ role: 'user', content: `Triage this ticket: ${ticket}` }],
        tools: [SET_PRIORITY],
        tool_choice: { type: 'function', function: { name: 'set_priority' } },
      });
      const call = completion.choices[0]?.message.tool_calls?.[0];
      if (call?.type !== 'function') return 'normal';
      const { priority } = JSON.parse(call.function.arguments) as { priority: Priority };
      return priority;
    },

    async draftReply(ticket, onText) {
      const stream = anthropic.messages.stream({
        model: 'claude-3-sonnet',
        max_tokens: 300,
        system: 'You are a friendly support agent.',
        messages: [{ role: 'user', content: ticket }],
      });
      if (onText) stream.on('text', onText);
      return stream.finalText();
    },
  };
}

/** The app's desk, with clients configured by the environment. */
export const desk = createSupportDesk();
