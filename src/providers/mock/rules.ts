/**
 * The mock's rules: ordered conditions on the conversation, first match wins.
 *
 * Keyword patterns (`patterns:`) are rules with one `prompt` condition, tried
 * after `rules:`; the model's `default:` is a last rule that always matches.
 * Which rule answers a request depends only on the request, so concurrent
 * conversations and retried requests get the same answers every run:
 *
 * - A list answer is played through per conversation: the rule's position is
 *   how many earlier assistant turns of this conversation it answered.
 * - Tool loops end: when the conversation ends with the results of tool calls
 *   a rule answered, that rule does not answer again (unless `repeat: true`,
 *   or its list has answers left), so the next matching rule does.
 *
 * Which rule answered an earlier turn is worked out by replaying the
 * conversation: the mock is deterministic, so the conversation before that
 * assistant message got that rule.
 */
import type { ChatRequest } from '../../canonical/types.ts';
import { REGEX_KEY } from '../../config/pattern-key.ts';
import type { AnswerSpec, RuleSpec, RuleWhen } from '../../config/schema.ts';
import { closest } from '../../util/did-you-mean.ts';
import type { RequestHeaders } from '../../canonical/types.ts';
import { replayTurns, requestFacts, type ConversationFacts } from './conversation.ts';

/** A canned answer: as in YAML, or a function of the request (JavaScript API). */
export type MockAnswer = AnswerSpec | ((request: ChatRequest) => AnswerSpec);
/** One answer, or a list given one per turn of the conversation in turn (cycling). */
export type MockAnswers = MockAnswer | readonly MockAnswer[];

/** One condition of a rule. */
interface Condition {
  /** As written, for labels and errors: `prompt "weather"`. */
  text: string;
  test: (facts: ConversationFacts) => boolean;
  /** For a `prompt` keyword: the keyword, so a near miss can be named. */
  keyword?: string;
}

/** A compiled rule. */
export interface MockRule {
  kind: 'rule' | 'pattern' | 'default';
  /** How transcripts and errors name it: the rule's `name`, its conditions, or the pattern key. */
  label: string;
  conditions: readonly Condition[];
  answers: MockAnswers;
  /** Answers the results of its own tool calls again. */
  repeat: boolean;
}

/** A rule as the JavaScript API takes it: the YAML shape, with functions and RegExps allowed. */
export interface MockRuleInput {
  name?: string;
  when?: Omit<RuleWhen, 'prompt' | 'system'> & { prompt?: string | RegExp; system?: string | RegExp };
  answer: MockAnswers;
  repeat?: boolean;
}

/** A text test from a keyword (case-insensitive) or `/source/flags` (a regular expression). */
export function textMatcher(key: string | RegExp): (text: string) => boolean {
  const regex = key instanceof RegExp ? [key.source, key.flags] : REGEX_KEY.exec(key)?.slice(1);
  if (regex) {
    // Global and sticky flags would make test() stateful across calls.
    const re = new RegExp(regex[0]!, regex[1]!.replace(/[gy]/g, ''));
    return (text) => re.test(text);
  }
  const needle = (key as string).toLowerCase();
  return (text) => text.toLowerCase().includes(needle);
}

const quote = (key: string | RegExp) => `"${String(key)}"`;

function conditionsOf(when: NonNullable<MockRuleInput['when']>): Condition[] {
  const conditions: Condition[] = [];
  if (when.prompt !== undefined) {
    const test = textMatcher(when.prompt);
    const keyword = typeof when.prompt === 'string' && !REGEX_KEY.test(when.prompt) ? when.prompt : undefined;
    conditions.push({ text: `prompt ${quote(when.prompt)}`, test: (f) => test(f.prompt), ...(keyword ? { keyword } : {}) });
  }
  if (when.system !== undefined) {
    const test = textMatcher(when.system);
    conditions.push({ text: `system ${quote(when.system)}`, test: (f) => test(f.system) });
  }
  const result = when.tool_result;
  if (result === true) conditions.push({ text: 'tool_result', test: (f) => f.toolResults.length > 0 });
  else if (result === false) conditions.push({ text: 'tool_result: false', test: (f) => f.toolResults.length === 0 });
  else if (typeof result === 'string') conditions.push({ text: `tool_result ${result}`, test: (f) => f.toolResults.some((r) => r.name === result) });
  else if (result !== undefined) {
    const contains = result.contains !== undefined ? textMatcher(result.contains) : undefined;
    conditions.push({
      text: `tool_result ${result.name ?? 'any'}${result.contains !== undefined ? ` containing ${quote(result.contains)}` : ''}`,
      test: (f) => f.toolResults.some((r) => (result.name === undefined || r.name === result.name) && (!contains || contains(r.content))),
    });
  }
  const turn = when.turn;
  if (typeof turn === 'number') conditions.push({ text: `turn ${turn}`, test: (f) => f.turn === turn });
  else if (turn !== undefined) {
    const min = turn.min ?? 0;
    const max = turn.max ?? Infinity;
    conditions.push({ text: `turn ${min}-${max === Infinity ? '' : max}`, test: (f) => f.turn >= min && f.turn <= max });
  }
  if (when.tools !== undefined) {
    const names = [when.tools].flat();
    conditions.push({ text: `tools ${names.join(', ')}`, test: (f) => names.every((n) => f.tools.has(n)) });
  }
  const format = when.response_format;
  if (format !== undefined) {
    const isJson = (f: ConversationFacts) => f.responseFormat === 'json_schema' || f.responseFormat === 'json_object';
    const test =
      format === true ? isJson : format === false || format === 'text' ? (f: ConversationFacts) => !isJson(f) : (f: ConversationFacts) => f.responseFormat === format;
    conditions.push({ text: `response_format ${String(format)}`, test });
  }
  const choice = when.tool_choice;
  if (choice !== undefined) {
    const test = (f: ConversationFacts): boolean => {
      const actual = f.toolChoice;
      switch (choice) {
        case 'auto':
          return actual === undefined || actual.type === 'auto';
        case 'none':
        case 'required':
          return actual?.type === choice;
        case 'forced':
          return actual?.type === 'required' || actual?.type === 'tool';
        default:
          return actual?.type === 'tool' && actual.name === choice;
      }
    };
    conditions.push({ text: `tool_choice ${choice}`, test });
  }
  for (const [key, value] of Object.entries(when.metadata ?? {})) {
    const test = textMatcher(value);
    conditions.push({ text: `metadata ${key} ${quote(value)}`, test: (f) => f.metadata[key] !== undefined && test(f.metadata[key]) });
  }
  for (const [name, value] of Object.entries(when.header ?? {})) {
    const test = textMatcher(value);
    const lower = name.toLowerCase();
    conditions.push({
      text: `header ${lower} ${quote(value)}`,
      test: (f) => {
        const actual = f.headers?.get(lower);
        return actual !== null && actual !== undefined && test(actual);
      },
    });
  }
  return conditions;
}

/** A rule from its config (or JavaScript) form. */
export function compileRule(spec: RuleSpec | MockRuleInput): MockRule {
  const conditions = conditionsOf(spec.when ?? {});
  const label = spec.name ?? (conditions.length ? conditions.map((c) => c.text).join(', ') : 'always');
  return { kind: 'rule', label, conditions, answers: spec.answer, repeat: spec.repeat ?? false };
}

/** A keyword pattern: a rule with one `prompt` condition, labelled by its key. */
export function compilePattern(key: string | RegExp, answers: MockAnswers): MockRule {
  const rule = compileRule({ when: { prompt: key }, answer: answers });
  return { ...rule, kind: 'pattern', label: String(key) };
}

/** The model's default answer: a rule that always matches, tried last. */
export function defaultRule(answers: MockAnswers): MockRule {
  return { kind: 'default', label: 'default', conditions: [], answers, repeat: false };
}

const matches = (rule: MockRule, facts: ConversationFacts) => rule.conditions.every((c) => c.test(facts));

/** The rule chosen for a request, and where its answer list stands. */
export interface RuleChoice {
  /** The rule that answers; undefined when none matches. */
  rule: MockRule | undefined;
  /** How many earlier turns of this conversation the rule answered (its list position). */
  position: number;
  /** The facts of the whole conversation. */
  facts: ConversationFacts;
  /** A rule that matched but stood down because the conversation ends with the results of its tool calls. */
  stoodDown?: MockRule;
}

/**
 * The first rule that matches the request, after working out, turn by turn,
 * which rules answered the conversation so far.
 */
export function chooseRule(rules: readonly MockRule[], request: ChatRequest, headers?: RequestHeaders): RuleChoice {
  const shared = requestFacts(request, headers);
  const answered = new Map<MockRule, number>();
  let last: MockRule | undefined;
  let choice: RuleChoice | undefined;
  for (const facts of replayTurns(request.messages, shared)) {
    let stoodDown: MockRule | undefined;
    const rule = rules.find((candidate) => {
      if (!matches(candidate, facts)) return false;
      if (candidate === last && facts.answeredToolCalls.length > 0 && !candidate.repeat) {
        // The conversation ends with the results of this rule's own tool calls.
        // A list goes on to its next answer, but does not start over into another call.
        const listLeft = Array.isArray(candidate.answers) && (answered.get(candidate) ?? 0) % candidate.answers.length !== 0;
        if (!listLeft) {
          stoodDown ??= candidate;
          return false;
        }
      }
      return true;
    });
    choice = { rule, position: rule ? (answered.get(rule) ?? 0) : 0, facts, ...(stoodDown ? { stoodDown } : {}) };
    if (rule) answered.set(rule, choice.position + 1);
    last = rule;
  }
  // replayTurns always yields the whole conversation last.
  return choice!;
}

/** The answer at a list position (lists cycle), or the single answer. */
export function answerAt(answers: MockAnswers, position: number, request: ChatRequest, checkProduced: (answer: AnswerSpec) => AnswerSpec = (a) => a): AnswerSpec {
  const answer: MockAnswer = Array.isArray(answers) ? answers[position % answers.length]! : (answers as MockAnswer);
  return typeof answer === 'function' ? checkProduced(answer(request)) : answer;
}

/**
 * For strict mode: the rule closest to matching (fewest conditions failing;
 * among equals, one whose prompt keyword is a near miss of a word in the
 * prompt), with what failed.
 */
export function closestRule(rules: readonly MockRule[], facts: ConversationFacts): { rule: MockRule; failed: string[]; nearMiss?: { word: string; keyword: string } } | undefined {
  const words = facts.prompt.split(/[^\p{L}\p{N}_-]+/u).filter(Boolean);
  let best: { rule: MockRule; failed: string[]; nearMiss?: { word: string; keyword: string } } | undefined;
  for (const rule of rules) {
    if (rule.kind === 'default') continue;
    const failing = rule.conditions.filter((c) => !c.test(facts));
    let nearMiss: { word: string; keyword: string } | undefined;
    for (const condition of failing) {
      if (condition.keyword === undefined) continue;
      const word = closest(condition.keyword, words);
      if (word !== undefined) nearMiss = { word, keyword: condition.keyword };
    }
    const better =
      !best || failing.length < best.failed.length || (failing.length === best.failed.length && nearMiss !== undefined && best.nearMiss === undefined);
    if (better) best = { rule, failed: failing.map((c) => c.text), ...(nearMiss ? { nearMiss } : {}) };
  }
  return best;
}

/** What the conversation looks like, in a few words, for errors (no message text: prompts stay out of errors). */
export function describeFacts(facts: ConversationFacts): string {
  const parts = [`turn ${facts.turn}`];
  if (facts.toolResults.length) parts.push(`ends with the result of ${[...new Set(facts.toolResults.map((r) => r.name || 'an unknown tool'))].join(', ')}`);
  if (facts.tools.size) parts.push(`offers tools ${[...facts.tools].join(', ')}`);
  if (facts.responseFormat && facts.responseFormat !== 'text') parts.push(`asks for ${facts.responseFormat}`);
  if (facts.toolChoice && facts.toolChoice.type !== 'auto') parts.push(`tool_choice ${facts.toolChoice.type === 'tool' ? facts.toolChoice.name : facts.toolChoice.type}`);
  return parts.join(', ');
}
