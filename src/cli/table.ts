/** Plain-text tables for the CLI: padded columns, numbers aligned right. */

export interface Column<Row> {
  header: string;
  value(row: Row): string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/**
 * Renders rows in columns. Widths only grow from one call to the next, so
 * that rows printed later (`--follow`) line up with the ones before.
 */
export function createTable<Row>(columns: readonly Column<Row>[]) {
  const widths = columns.map((column) => column.header.length);
  const render = (line: readonly string[]) =>
    line
      .map((cell, i) => (columns[i]!.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return {
    /** The lines of these rows, preceded by the header line when asked. */
    lines(rows: readonly Row[], options: { header: boolean }): string[] {
      const cells = rows.map((row) => columns.map((column) => column.value(row)));
      for (const line of cells) line.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
      return [...(options.header ? [render(columns.map((c) => c.header))] : []), ...cells.map(render)];
    },
  };
}
