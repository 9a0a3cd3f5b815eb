/**
 * Building the mock's answer for a request: a canned answer's content, or a
 * generated one that honours what the request demands.
 */
import type { ChatRequest, TextPart, ToolCallPart } from '../../canonical/types.ts';
import type { AnswerSpec, LatencySetting } from '../../config/schema.ts';
import type { TrailingToolResult } from './conversation.ts';
import { sampleFromSchema } from './json-sample.ts';
import { hash32 } from './random.ts';

export type { MockAnswer, MockAnswers, MockRuleInput } from './rules.ts';

/** Which canned entry answered. */
export interface AnswerSource {
  kind: 'rule' | 'pattern' | 'default' | 'generated';
  /** The rule's label (its `name`, or its conditions written out), or the pattern key. */
  key?: string;
}

/** The content a canned answer describes (error answers are handled by the caller). */
export function answerContent(answer: AnswerSpec, idSeed: string): Array<TextPart | ToolCallPart> {
  if (typeof answer === 'string') return [{ type: 'text', text: answer }];
  if (answer.text !== undefined) return [{ type: 'text', text: answer.text }];
  if (answer.json !== undefined) return [{ type: 'text', text: JSON.stringify(answer.json) }];
  const toolCall = (call: { name: string; arguments: string | Record<string, unknown>; id?: string | undefined }, i: number): ToolCallPart => ({
    type: 'tool-call',
    id: call.id ?? toolCallId(idSeed, i),
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  });
  if (answer.tool_call) return [toolCall(answer.tool_call, 0)];
  if (answer.tool_calls) return answer.tool_calls.map(toolCall);
  if (answer.content) {
    return answer.content.map((part, i) => (part.type === 'text' ? { type: 'text', text: part.text } : toolCall(part, i)));
  }
  return [];
}

/** The latency override of an answer, if it has one. */
export function answerLatency(answer: AnswerSpec): LatencySetting | undefined {
  return typeof answer === 'string' ? undefined : answer.latency_ms;
}

const WORDS = (
  'the a mock answer model token stream request response latency provider fallback route test deterministic ' +
  'value result data system user assistant message content output input example sample context detail step ' +
  'first next then also because which while when each every simple clear quick small large local check ' +
  'config prompt keyword pattern seed call log cost zero offline safe stable repeat'
).split(' ');

/**
 * A generated answer for a model with no canned entry: the same prompt always
 * gives the same text, and a longer prompt gives a longer answer (12 to 35
 * words, plus one word per two prompt words, up to 400 words in all). After
 * tool results, it says what the tools returned.
 */
export function generateAnswer(model: string, prompt: string, json: boolean, toolResults: readonly TrailingToolResult[] = []): string {
  let text: string;
  if (toolResults.length > 0) {
    const said = toolResults.map((r) => `${r.name || 'the tool'} ${r.isError ? 'failed with' : 'returned'} ${clip(r.content)}`);
    text = `Mock answer from ${model}: ${said.join('; ')}.`;
  } else {
    const promptWords = prompt.split(/\s+/).filter(Boolean).length;
    let state = hash32(`${model}\u0000${prompt}`);
    const count = Math.min(400, 12 + (state % 24) + Math.floor(promptWords / 2));
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      state = hash32(`${state}:${i}`);
      words.push(WORDS[state % WORDS.length]!);
    }
    const body = words.join(' ');
    text = `Mock answer from ${model}: ${body.charAt(0).toUpperCase()}${body.slice(1)}.`;
  }
  return json ? JSON.stringify({ model, answer: text }) : text;
}

function clip(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}

/** The tool a request forces: the named one, or the first offered for `required`. */
export function forcedTool(request: ChatRequest) {
  const choice = request.toolChoice;
  const tools = request.tools ?? [];
  return choice?.type === 'tool' ? tools.find((t) => t.name === choice.name) : choice?.type === 'required' ? tools[0] : undefined;
}

/** A tool call id that depends only on the conversation, so runs and retries repeat it. */
export function toolCallId(idSeed: string, i: number): string {
  return `call_${hash32(`${idSeed}:${i}`).toString(16).padStart(8, '0')}${i}`;
}

/**
 * The generated answer's content, honouring what the request demands: a forced
 * tool choice (`required`, or one named tool) gets a call of that tool with
 * arguments valid against its schema; a JSON-schema response format gets a
 * JSON value valid against the schema; `json_object` gets a JSON object;
 * anything else gets {@link generateAnswer}'s text.
 */
export function generateContent(
  request: ChatRequest,
  prompt: string,
  idSeed: string,
  toolResults: readonly TrailingToolResult[] = [],
): Array<TextPart | ToolCallPart> {
  const forced = forcedTool(request);
  if (forced) {
    return [{ type: 'tool-call', id: toolCallId(idSeed, 0), name: forced.name, arguments: JSON.stringify(sampleFromSchema(forced.parameters, `${request.model}:${prompt}`)) }];
  }
  const format = request.responseFormat;
  if (format?.type === 'json_schema') {
    return [{ type: 'text', text: JSON.stringify(sampleFromSchema(format.schema, `${request.model}:${prompt}`)) }];
  }
  return [{ type: 'text', text: generateAnswer(request.model, prompt, format?.type === 'json_object', toolResults) }];
}

/**
 * Cuts text content at the first of `stop` it contains, as a model stops
 * before emitting a stop sequence; returns the sequence that matched.
 */
export function applyStopSequences(content: Array<TextPart | ToolCallPart>, stop: readonly string[] | undefined): string | undefined {
  if (!stop?.length) return undefined;
  for (let i = 0; i < content.length; i++) {
    const part = content[i]!;
    if (part.type !== 'text') continue;
    let cut = -1;
    let matched: string | undefined;
    for (const sequence of stop) {
      const at = sequence ? part.text.indexOf(sequence) : -1;
      if (at !== -1 && (cut === -1 || at < cut)) {
        cut = at;
        matched = sequence;
      }
    }
    if (matched !== undefined) {
      content.splice(i, content.length - i, { type: 'text', text: part.text.slice(0, cut) });
      return matched;
    }
  }
  return undefined;
}
