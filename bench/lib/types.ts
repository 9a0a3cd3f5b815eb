/**
 * The contract between `bench/run.ts` and the sections it runs. A section
 * lives in `bench/<name>.bench.ts` and exports `sections: BenchSection[]`.
 */

/** One named part of `npm run bench` (`npm run bench -- <name>` runs it alone). */
export interface BenchSection {
  /** The name given on the command line. */
  name: string;
  /** One line for `--list` and the report. */
  description: string;
  run(context: BenchContext): Promise<SectionResult>;
}

/** What a section gets from the runner. */
export interface BenchContext {
  /** Absolute path of the repository. */
  root: string;
  /**
   * The built package as measured: a copy of bin/, dist/ and package.json
   * taken after the build (node_modules linked), so that a rebuild of dist/
   * elsewhere during the run cannot break or change it. Start the CLI as
   * `node <packageDir>/bin/tokenpak.js` and import `<packageDir>/dist/index.js`.
   */
  packageDir: string;
  /** Short runs, to check the harness itself; the figures are not representative. */
  quick: boolean;
  /** Extra node flags for the proxy process under load (for example `--cpu-prof`). */
  proxyNodeArgs: string[];
  /** A scratch directory, removed after the run. */
  tmpDir: string;
  /** Progress for the operator (stderr); the report is printed at the end. */
  log(message: string): void;
}

/** A table for the printed report. */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  /** Lines printed under the table. */
  notes?: string[];
}

/** One target of the issue, measured. */
export interface TargetCheck {
  /** What is measured, for example "throughput c=50, proxy/bare". */
  name: string;
  /** The target as written, for example "≥ 0.5". */
  target: string;
  /** The measured figure, formatted. */
  measured: string;
  pass: boolean;
}

/** What a section hands back. */
export interface SectionResult {
  tables: Table[];
  targets: TargetCheck[];
  /** Raw figures for the JSON results file. */
  data: unknown;
}
