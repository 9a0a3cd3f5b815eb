/**
 * `tokenpak cassettes`: list recorded scenarios, check them against the live
 * APIs (drift in shape, not wording), and remove the ones nothing uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatRequest } from '../canonical/types.ts';
import { cassettePath, deleteCassette, listCassetteFiles, readCassette, readUsage } from '../cassettes/file.ts';
import { endpointOf } from '../cassettes/match.ts';
import { responseDrift } from '../cassettes/shape.ts';
import type { CassetteFile, Interaction } from '../cassettes/types.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { TokenPakError } from '../errors.ts';
import { anthropicMessagesFormat } from '../formats/anthropic-messages.ts';
import { openaiChatFormat } from '../formats/openai-chat.ts';
import type { Provider } from '../providers/types.ts';
import { parseDuration } from '../util/time.ts';
import { commandHelp } from './help.ts';
import { findConfigPath, parseFlags, UsageError } from './shared.ts';
import { createTable } from './table.ts';


export async function cassettesCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('cassettes', args, {
    config: { type: 'string', short: 'c' },
    'unused-for': { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const [action, dirArg, extra] = positionals;
  if (values.help || action === undefined) {
    process.stdout.write(`${commandHelp.cassettes}\n`);
    return values.help ? 0 : 2;
  }
  if (extra !== undefined) throw new UsageError(`cassettes ${action} takes one folder; got "${dirArg}" and "${extra}".`);
  const configFile = findConfigPath(values.config);
  const config = configFile && (action === 'verify' || dirArg === undefined) ? await loadConfig(configFile) : undefined;
  const dir = dirArg ?? config?.cassettes.dir ?? 'cassettes';
  switch (action) {
    case 'ls':
      return list(dir);
    case 'prune':
      return prune(dir, values['unused-for'] ?? '30d', values['dry-run'] ?? false);
    case 'verify':
      if (!config) throw new UsageError('cassettes verify needs the config whose providers (and keys) to call: pass --config FILE.');
      return verify(dir, config);
    default:
      throw new UsageError(`unknown cassettes action "${action}". Use ls, verify or prune.`);
  }
}

async function scenarios(dir: string): Promise<Array<{ file: string; cassette: CassetteFile }>> {
  const out = [];
  for (const file of await listCassetteFiles(dir)) {
    const cassette = readCassette(join(dir, file));
    if (cassette) out.push({ file, cassette });
  }
  return out;
}

async function list(dir: string): Promise<number> {
  const found = await scenarios(dir);
  if (found.length === 0) {
    process.stdout.write(`No cassettes in ${dir}. Record some with: tokenpak proxy --config FILE --record ${dir}\n`);
    return 0;
  }
  const usage = readUsage(dir);
  const table = createTable<{ file: string; cassette: CassetteFile }>([
    { header: 'SCENARIO', value: (r) => r.cassette.name },
    { header: 'EXCHANGES', value: (r) => String(r.cassette.interactions.length), right: true },
    { header: 'ENDPOINTS', value: (r) => endpoints(r.cassette.interactions) },
    { header: 'RECORDED', value: (r) => day(latest(r.cassette.interactions.map((i) => i.recorded_at))) },
    { header: 'LAST USED', value: (r) => day(usage[r.cassette.name]) },
    { header: 'FILE', value: (r) => r.file },
  ]);
  process.stdout.write(`${table.lines(found, { header: true }).join('\n')}\n`);
  return 0;
}

async function prune(dir: string, unusedFor: string, dryRun: boolean): Promise<number> {
  const ms = parseDuration(unusedFor);
  if (ms === undefined) throw new UsageError(`--unused-for must be a duration such as 7d, 12h or 30m, not "${unusedFor}".`);
  const usage = readUsage(dir);
  const cutoff = Date.now() - ms;
  let removed = 0;
  for (const { file, cassette } of await scenarios(dir)) {
    // A scenario recorded recently but not replayed yet is kept: it was just made.
    const last = latest([usage[cassette.name], ...cassette.interactions.map((i) => i.recorded_at)]);
    if (last !== undefined && Date.parse(last) >= cutoff) continue;
    process.stdout.write(`${dryRun ? 'would delete' : 'deleted'} ${join(dir, file)} (${cassette.name}: last used ${day(usage[cassette.name])})\n`);
    if (!dryRun) await deleteCassette(join(dir, file));
    removed++;
  }
  if (removed === 0) process.stdout.write(`Nothing to prune: every cassette in ${dir} was used or recorded within ${unusedFor}.\n`);
  return 0;
}

async function verify(dir: string, config: Config): Promise<number> {
  const found = await scenarios(dir);
  if (found.length === 0) throw new TokenPakError('cassette_invalid', `No cassettes in ${dir} to verify.`);
  // Today's answers are recorded into a scratch folder with the same redactions, then compared.
  const scratch = mkdtempSync(join(tmpdir(), 'tokenpak-verify-'));
  const { createCassettes } = await import('../cassettes/setup.ts');
  const cassettes = createCassettes(config, { overrides: { mode: 'record', dir: scratch } })!;
  let drifted = 0;
  let checked = 0;
  try {
    for (const { cassette } of found) {
      for (const [index, interaction] of cassette.interactions.entries()) {
        const label = `${cassette.name} #${index + 1} ${interaction.request.method} ${endpointOf(interaction.request.path)}`;
        const settings = config.providers[interaction.provider];
        if (!settings || !settings.enabled || settings.type === 'mock') {
          process.stdout.write(`? ${label}: provider "${interaction.provider}" is not an enabled real provider in ${config.source}; skipped\n`);
          continue;
        }
        const name = `verify-${cassette.name}-${index}`;
        await sendAgain(cassettes.providerFactory(interaction.provider, settings), interaction, name, cassettes.app);
        await cassettes.close();
        const live = readCassette(cassettePath(scratch, name))?.interactions.at(-1);
        checked++;
        if (!live) {
          drifted++;
          process.stdout.write(`✗ ${label}: the API sent no answer (connection failed)\n`);
          continue;
        }
        const drift = responseDrift(interaction.response, live.response);
        if (drift.length === 0) process.stdout.write(`✓ ${label}\n`);
        else {
          drifted++;
          process.stdout.write(`✗ ${label}: the answer's shape changed\n${drift.map((line) => `    ${line}`).join('\n')}\n`);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${checked - drifted} of ${checked} recorded exchange(s) match the live API's shape.\n`);
  return drifted > 0 ? 1 : 0;
}

/** Sends a recorded upstream request again through a (recording) provider, bound to scenario `name`. */
async function sendAgain(
  provider: Provider,
  interaction: Interaction,
  name: string,
  app: { bind(id: string, name: string): void; release(id: string): void },
): Promise<void> {
  const endpoint = endpointOf(interaction.request.path);
  const body = interaction.request.body as Record<string, unknown>;
  let request: ChatRequest;
  if (endpoint.endsWith('/chat/completions')) request = openaiChatFormat.parseRequest(body, new Headers()).request;
  else if (endpoint.endsWith('/messages')) request = anthropicMessagesFormat.parseRequest(body, new Headers({ 'anthropic-version': '2023-06-01' })).request;
  else throw new TokenPakError('cassette_invalid', `cassettes verify does not know how to send ${endpoint} again.`);
  const requestId = `verify-${name}`;
  app.bind(requestId, name);
  try {
    if (body.stream === true) {
      for await (const event of provider.stream(request, { requestId })) if (event.type === 'error') break;
    } else {
      await provider.complete(request, { requestId });
    }
  } catch {
    // An error answer is recorded too, and compared like any other.
  } finally {
    app.release(requestId);
  }
}

function endpoints(interactions: readonly Interaction[]): string {
  const counts = new Map<string, number>();
  for (const i of interactions) {
    const key = `${endpointOf(i.request.path)}${i.response.events ? ' (stream)' : ''}${i.response.status >= 400 ? ` ${i.response.status}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => (n > 1 ? `${n}× ${key}` : key)).join(', ');
}

function latest(dates: ReadonlyArray<string | undefined>): string | undefined {
  return dates.filter((d): d is string => d !== undefined).sort().at(-1);
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : 'never';
}
