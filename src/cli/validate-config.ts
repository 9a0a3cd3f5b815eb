import { checkConfig } from '../config/check.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, formatConfigIssue } from '../errors.ts';
import { parseDeployEnv, parseFlags, UsageError } from './shared.ts';
import { commandHelp } from './help.ts';

/** `tokenpak validate-config`. */
export async function validateConfigCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('validate-config', args, { env: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(`${commandHelp['validate-config']}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('validate-config takes exactly one config file: tokenpak validate-config config.yaml');
  const file = positionals[0]!;
  const env = parseDeployEnv(values.env);

  let report;
  try {
    const config = await loadConfig(file);
    const check = checkConfig(config, { env });
    report = {
      valid: check.errors.length === 0,
      file,
      env,
      errors: check.errors,
      warnings: check.warnings,
      summary: check.summary,
      providers: Object.entries(config.providers).map(([name, p]) => ({ name, type: p.type, enabled: p.enabled })),
      models: Object.values(config.models).map((r) => ({ name: r.name, chain: r.chain })),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report = { valid: false, file, env, errors: error.issues, warnings: [], summary: [], providers: [], models: [] };
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines: string[] = [];
    if (report.valid) for (const line of report.summary) lines.push(`✓ ${line}`);
    for (const error of report.errors) lines.push(`✗ ${formatConfigIssue(file, error)}`);
    for (const warning of report.warnings) lines.push(`⚠ ${warning.path}: ${warning.message}`);
    if (!report.valid) lines.push(`✗ Config invalid: ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.valid ? 0 : 1;
}
