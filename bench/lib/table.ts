import type { SectionResult, Table, TargetCheck } from './types.ts';

/** A table as aligned plain text (numbers right-aligned). */
export function formatTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length)));
  const numeric = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((row) => typeof row[i] === 'number'));
  const line = (row: ReadonlyArray<string | number>) =>
    row.map((cell, i) => (numeric[i] ? String(cell).padStart(widths[i]!) : String(cell).padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [table.title, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

/** The targets of every section as one PASS/MISS table. */
export function targetsTable(targets: readonly TargetCheck[]): Table {
  return {
    title: 'Targets',
    columns: ['target', 'wanted', 'measured', 'result'],
    rows: targets.map((t) => [t.name, t.target, t.measured, t.pass ? 'PASS' : 'MISS']),
  };
}

/** The whole report: every section's tables, then the targets. */
export function formatReport(results: ReadonlyArray<{ name: string; result: SectionResult }>): string {
  const parts: string[] = [];
  for (const { result } of results) for (const table of result.tables) parts.push(formatTable(table));
  const targets = results.flatMap(({ result }) => result.targets);
  if (targets.length > 0) parts.push(formatTable(targetsTable(targets)));
  return parts.join('\n\n');
}
