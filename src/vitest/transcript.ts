/**
 * The transcript: what a test's TokenPak saw — each call, the providers tried,
 * the pattern that answered, the failures injected — as plain text for failure
 * messages.
 */
import type { MockFailure } from '../providers/mock/mock-provider.ts';
import type { TokenPakAttempt, TokenPakCall } from './scope.ts';

/** The first line of every transcript; also how a message is recognised as already carrying one. */
export const TRANSCRIPT_MARK = 'TokenPak transcript';

function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}

/** What the app sent, on one line: JSON as JSON, a body that was not JSON as a quoted string. */
function sent(body: unknown, max = 160): string {
  if (typeof body === 'string') return clip(body, max);
  const text = JSON.stringify(body) ?? String(body);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function failureName(failure: MockFailure): string {
  if (typeof failure === 'object') return `HTTP ${failure.status}`;
  return typeof failure === 'number' ? `HTTP ${failure}` : failure;
}

function attemptLine(attempt: TokenPakAttempt, index: number): string {
  const who = `${attempt.provider}${attempt.simulated ? ' (simulated)' : ''} → ${attempt.model}`;
  const facts: string[] = [];
  if (attempt.source?.kind === 'pattern') facts.push(`pattern ${JSON.stringify(attempt.source.key)}`);
  else if (attempt.source?.kind === 'rule') facts.push(`rule ${JSON.stringify(attempt.source.key)}`);
  else if (attempt.source?.kind === 'default') facts.push('default answer');
  else if (attempt.source?.kind === 'generated') facts.push('generated answer');
  if (attempt.injected !== undefined) facts.push(`injected failure: ${failureName(attempt.injected)}`);
  for (const warning of attempt.warnings ?? []) facts.push(warning);
  if (attempt.upstreamCalls !== undefined && attempt.upstreamCalls > 1) facts.push(`${attempt.upstreamCalls} requests to the stand-in`);
  facts.push(`${Math.round(attempt.latencyMs)} ms`);
  const outcome =
    attempt.outcome === 'ok' ? `✓ ${attempt.status}` : `✗ ${attempt.status} ${attempt.errorCode ?? 'error'}${attempt.errorMessage ? `: ${attempt.errorMessage}` : ''}`;
  return `     ${index + 1}. ${who}: ${outcome} (${facts.join(', ')})`;
}

/** One call, several lines. */
export function describeCall(call: TokenPakCall, index: number): string {
  const tried = call.attempts.length;
  const fellBack = tried > 1 && call.outcome === 'ok' ? `, after ${tried - 1} failed attempt${tried > 2 ? 's' : ''}` : '';
  const head =
    call.outcome === 'ok'
      ? `  #${index + 1} ${call.model} → ${call.provider} ✓ 200${fellBack}`
      : `  #${index + 1} ${call.model || '(no model)'} ✗ ${call.status} ${call.errorCode ?? 'error'}${call.errorMessage ? `: ${call.errorMessage}` : ''}`;
  const lines = [`${head}  [${call.clientFormat}${call.stream ? ', stream' : ''}, ${Math.round(call.latencyMs)} ms]`];
  if (call.clientRequest !== undefined) lines.push(`     sent: ${sent(call.clientRequest)}`);
  else if (call.attempts.length === 0) lines.push('     sent: (no body was read)');
  if (call.request) lines.push(`     prompt: ${clip(call.prompt)}`);
  if (call.text !== undefined) lines.push(`     answer: ${clip(call.text)}`);
  for (const tool of call.toolCalls) lines.push(`     tool call: ${tool.name}(${clip(tool.arguments, 80)})`);
  const notable = (a: TokenPakAttempt) => a.injected !== undefined || a.source?.kind === 'pattern' || a.source?.kind === 'rule' || (a.warnings?.length ?? 0) > 0;
  if (tried > 1 || call.outcome !== 'ok' || call.attempts.some(notable)) {
    lines.push(...call.attempts.map(attemptLine));
  }
  return lines.join('\n');
}

/** The transcript of some calls, with notes. */
export function renderTranscript(label: string, calls: readonly TokenPakCall[], notes: readonly string[] = [], url?: string): string {
  const count = calls.length === 1 ? '1 call' : `${calls.length} calls`;
  const lines = [`${TRANSCRIPT_MARK} of ${label}: ${count}${url ? ` (TokenPak at ${url})` : ''}`];
  if (calls.length === 0) lines.push('  (no call reached this TokenPak)');
  calls.forEach((call, i) => lines.push(describeCall(call, i)));
  for (const note of notes) lines.push(note.startsWith('warning: ') ? `  ${note}` : `  note: ${note}`);
  return lines.join('\n');
}
