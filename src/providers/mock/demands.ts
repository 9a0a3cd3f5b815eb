/**
 * The request's demands win over canned answers. A real model asked for a
 * forced tool call, or for JSON matching a schema, always answers that way;
 * the mock does too:
 *
 * - A forced tool choice (`required`, or one named tool) gets a call of that
 *   tool whose arguments validate against the tool's input schema.
 * - A `json_schema` response format gets JSON valid against the schema (a
 *   tool call to an offered tool is also fine: agents call tools before their
 *   final structured answer); `json_object` gets a JSON object.
 *
 * A canned answer that meets the demand is used as is; one that does not is
 * replaced by a generated answer that does, and the reason is returned (for
 * the call record and the Vitest transcript).
 */
import type { ChatRequest, TextPart, ToolCallPart } from '../../canonical/types.ts';
import { forcedTool } from './answers.ts';
import { validateAgainstSchema } from './schema-validator.ts';

type Content = Array<TextPart | ToolCallPart>;

/** Whether the request demands a shape that canned answers are checked against. */
export function hasDemands(request: ChatRequest): boolean {
  const format = request.responseFormat?.type;
  return forcedTool(request) !== undefined || format === 'json_schema' || format === 'json_object';
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const textOf = (content: Content) => content.map((p) => (p.type === 'text' ? p.text : '')).join('');

/**
 * Why `content` does not meet the request's demands, or undefined when it
 * does (or the request demands nothing). `label` names the canned answer
 * (`rule "weather"`, `the default answer`).
 */
export function unmetDemand(request: ChatRequest, content: Content, label: string): string | undefined {
  const forced = forcedTool(request);
  if (forced) {
    const choice = request.toolChoice!;
    const wanted = choice.type === 'tool' ? `a call of tool "${choice.name}"` : 'a tool call';
    const offered = new Map((request.tools ?? []).map((t) => [t.name, t]));
    const named = choice.type === 'tool' ? choice.name : undefined;
    const calls = content.filter((p): p is ToolCallPart => p.type === 'tool-call' && (named === undefined ? offered.has(p.name) : p.name === named));
    if (calls.length === 0) {
      const has = content.some((p) => p.type === 'tool-call') ? `calls ${content.filter((p) => p.type === 'tool-call').map((p) => (p as ToolCallPart).name).join(', ')}` : 'is text';
      return `${label} ${has}, but the request's tool_choice demands ${wanted}`;
    }
    for (const call of calls) {
      const args = parseJson(call.arguments);
      if (!args.ok) return `${label} calls "${call.name}" with arguments that are not JSON, but the request's tool_choice demands valid arguments`;
      const check = validateAgainstSchema(offered.get(call.name)!.parameters, args.value);
      if (check.valid === false) return `${label} calls "${call.name}" with arguments that do not match its input schema (${check.problem})`;
    }
    return undefined;
  }
  const format = request.responseFormat;
  if (format?.type !== 'json_schema' && format?.type !== 'json_object') return undefined;
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  if (content.some((p) => p.type === 'tool-call' && offered.has(p.name))) return undefined;
  const wanted = format.type === 'json_schema' ? `JSON matching schema${format.name ? ` "${format.name}"` : ''}` : 'a JSON object';
  const parsed = parseJson(textOf(content));
  if (!parsed.ok) return `${label} is not JSON, but the request's response format demands ${wanted}`;
  if (format.type === 'json_object') {
    const isObject = typeof parsed.value === 'object' && parsed.value !== null && !Array.isArray(parsed.value);
    return isObject ? undefined : `${label} is JSON but not an object, but the request's response format demands ${wanted}`;
  }
  const check = validateAgainstSchema(format.schema, parsed.value);
  return check.valid === false ? `${label} does not match the request's JSON schema${format.name ? ` "${format.name}"` : ''} (${check.problem})` : undefined;
}
