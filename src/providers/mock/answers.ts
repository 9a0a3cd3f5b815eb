/**
 * Choosing and building the mock's answer for a request: canned patterns,
 * the model's default, or a generated answer.
 */
import type { ChatRequest, TextPart, ToolCallPart } from '../../canonical/types.ts';
import { REGEX_KEY } from '../../config/pattern-key.ts';
import type { AnswerSpec, LatencySetting } from '../../config/schema.ts';
import { sampleFromSchema } from './json-sample.ts';
import { hash32 } from './random.ts';

/** A canned answer: as in YAML, or a function of the request (JavaScript API). */
export type MockAnswer = AnswerSpec | ((request: ChatRequest) => AnswerSpec);
/** One answer, or a list given one per call in turn (cycling). */
export type MockAnswers = MockAnswer | readonly MockAnswer[];

/** A keyword or regular-expression pattern with its answers. */
export interface MockPattern {
  /** The key as written (`debug`, `/refactor(ing)?/i`). */
  key: string;
  test: (prompt: string) => boolean;
  answers: MockAnswers;
}

/** Canned answers for one model (or `*`, for every model without its own). */
export interface MockModelAnswers {
  default?: MockAnswers;
  patterns: MockPattern[];
}

/** Which canned entry answered. */
export interface AnswerSource {
  kind: 'pattern' | 'default' | 'generated';
  /** The pattern key, for `pattern`. */
  key?: string;
}

/** A pattern from its key: `/source/flags` is a regular expression, anything else a case-insensitive keyword. */
export function compilePattern(key: string | RegExp, answers: MockAnswers): MockPattern {
  if (key instanceof RegExp) {
    const re = new RegExp(key.source, key.flags.replace(/[gy]/g, ''));
    return { key: String(key), test: (prompt) => re.test(prompt), answers };
  }
  const regex = REGEX_KEY.exec(key);
  if (regex) {
    // Global and sticky flags would make test() stateful across calls.
    const re = new RegExp(regex[1]!, regex[2]!.replace(/[gy]/g, ''));
    return { key, test: (prompt) => re.test(prompt), answers };
  }
  const needle = key.toLowerCase();
  return { key, test: (prompt) => prompt.toLowerCase().includes(needle), answers };
}

/** Picks the answer list: first matching pattern in order, then default, else none. */
export function selectAnswers(
  entries: MockModelAnswers | undefined,
  prompt: string,
): { answers: MockAnswers; source: AnswerSource } | undefined {
  if (!entries) return undefined;
  for (const pattern of entries.patterns) {
    if (pattern.test(prompt)) return { answers: pattern.answers, source: { kind: 'pattern', key: pattern.key } };
  }
  if (entries.default !== undefined) return { answers: entries.default, source: { kind: 'default' } };
  return undefined;
}

/** The content a canned answer describes (error answers are handled by the caller). */
export function answerContent(answer: AnswerSpec, idSeed: string): Array<TextPart | ToolCallPart> {
  if (typeof answer === 'string') return [{ type: 'text', text: answer }];
  if (answer.text !== undefined) return [{ type: 'text', text: answer.text }];
  const toolCall = (call: { name: string; arguments: string | Record<string, unknown>; id?: string | undefined }, i: number): ToolCallPart => ({
    type: 'tool-call',
    id: call.id ?? `call_${hash32(`${idSeed}:${i}`).toString(16).padStart(8, '0')}${i}`,
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
 * words, plus one word per two prompt words, up to 400 words in all).
 */
export function generateAnswer(model: string, prompt: string, json: boolean): string {
  const promptWords = prompt.split(/\s+/).filter(Boolean).length;
  let state = hash32(`${model}\u0000${prompt}`);
  const count = Math.min(400, 12 + (state % 24) + Math.floor(promptWords / 2));
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    state = hash32(`${state}:${i}`);
    words.push(WORDS[state % WORDS.length]!);
  }
  const body = words.join(' ');
  const text = `Mock answer from ${model}: ${body.charAt(0).toUpperCase()}${body.slice(1)}.`;
  return json ? JSON.stringify({ model, answer: text }) : text;
}

/**
 * The generated answer's content, honouring what the request demands: a forced
 * tool choice (`required`, or one named tool) gets a call of that tool with
 * arguments valid against its schema; a JSON-schema response format gets a
 * JSON value valid against the schema; `json_object` gets a JSON object;
 * anything else gets {@link generateAnswer}'s text.
 */
export function generateContent(request: ChatRequest, prompt: string, idSeed: string): Array<TextPart | ToolCallPart> {
  const choice = request.toolChoice;
  const tools = request.tools ?? [];
  const forced =
    choice?.type === 'tool' ? tools.find((t) => t.name === choice.name) : choice?.type === 'required' ? tools[0] : undefined;
  if (forced) {
    return [{
      type: 'tool-call',
      id: `call_${hash32(`${idSeed}:0`).toString(16).padStart(8, '0')}0`,
      name: forced.name,
      arguments: JSON.stringify(sampleFromSchema(forced.parameters, `${request.model}:${prompt}`)),
    }];
  }
  const format = request.responseFormat;
  if (format?.type === 'json_schema') {
    return [{ type: 'text', text: JSON.stringify(sampleFromSchema(format.schema, `${request.model}:${prompt}`)) }];
  }
  return [{ type: 'text', text: generateAnswer(request.model, prompt, format?.type === 'json_object') }];
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
