/**
 * The import graph of `src/`, read with the TypeScript compiler's parser (the
 * same reading of `import`, `export … from` and `import()` that tsc does), and
 * the layer rules it must follow.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One import of one source file. */
export interface ImportEdge {
  /** Importing file, relative to the repository root (`src/server/app.ts`). */
  from: string;
  /** Imported file, relative to the repository root. */
  to: string;
  /** `import type` / `export type`: erased at build time, no code runs. */
  typeOnly: boolean;
}

const root = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of every file under `dir` (default `src/`). */
export function importEdges(dir = join(root, 'src')): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(dir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const add = (specifier: ts.Expression | undefined, typeOnly: boolean) => {
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
      edges.push({ from: relative(root, file), to: relative(root, resolve(dirname(file), specifier.text)), typeOnly });
    };
    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const allTypes =
          clause !== undefined &&
          (clause.isTypeOnly ||
            (clause.name === undefined &&
              clause.namedBindings !== undefined &&
              ts.isNamedImports(clause.namedBindings) &&
              clause.namedBindings.elements.length > 0 &&
              clause.namedBindings.elements.every((element) => element.isTypeOnly)));
        add(node.moduleSpecifier, allTypes);
      } else if (ts.isExportDeclaration(node)) {
        add(node.moduleSpecifier, node.isTypeOnly);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(node.arguments[0], false);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

/**
 * The layers, highest first. A module may import modules of lower layers, never
 * higher ones, and never a sibling of its own layer (cli and vitest are both
 * front ends; neither builds on the other).
 *
 * `config`, `logs` and `pricing` stand beside the stack: every layer may use
 * them, and they import no implementation of any layer, only the base
 * (`errors.ts`, `util/`, `canonical/`) and each other. The base imports only
 * the base, plus the types (nothing that runs) of config and logs records.
 *
 * `cassettes` stands with the router: it builds the real providers with a
 * recording/replaying transport, and the server uses it; it never routes.
 *
 * `limits` and `metrics` stand between the server and the router: they hook
 * into the router's admission and call observers (`router/observer.ts`) to
 * refuse calls over a rate limit or budget, count what calls used, and keep
 * Prometheus metrics; the server loads them when configured.
 */
export const STACK = [['cli', 'vitest'], ['server'], ['limits', 'metrics', 'telemetry'], ['router', 'cassettes'], ['providers'], ['formats']] as const;
export const BESIDE = ['config', 'logs', 'pricing'] as const;
export const BASE = ['errors', 'util', 'canonical'] as const;

/** Folders under `src/providers` that are the providers' own plumbing, not for other layers. */
export const PROVIDER_INTERNALS = ['src/providers/http/'] as const;

/** The part of `src/` a file belongs to: its top folder, or its name for `src/errors.ts`. */
export function partOf(file: string): string {
  const rest = file.replace(/^src\//, '');
  const slash = rest.indexOf('/');
  return slash === -1 ? rest.replace(/\.ts$/, '') : rest.slice(0, slash);
}

function rankOf(part: string): number | undefined {
  const index = STACK.findIndex((layer) => (layer as readonly string[]).includes(part));
  return index === -1 ? undefined : index;
}

/** Why an import breaks the layer rules, or undefined when it follows them. */
export function violation(edge: ImportEdge): string | undefined {
  const from = partOf(edge.from);
  const to = partOf(edge.to);
  if (from === 'index' || from === to) return undefined;
  if (!edge.from.startsWith('src/providers/') && PROVIDER_INTERNALS.some((dir) => edge.to.startsWith(dir))) {
    return `${edge.from} reaches into the providers' internals (${edge.to}); use what the Provider contract or a format module offers`;
  }
  const fromRank = rankOf(from);
  const toRank = rankOf(to);
  if (fromRank !== undefined) {
    if (toRank === undefined) return undefined;
    if (toRank === fromRank) return `${edge.from} imports ${edge.to}: ${from} and ${to} are one layer and must not build on each other`;
    if (toRank < fromRank) return `${edge.from} imports ${edge.to}: ${from} is below ${to}; imports run ${STACK.map((l) => l.join('/')).join(' → ')}`;
    return undefined;
  }
  if ((BESIDE as readonly string[]).includes(from)) {
    if (toRank !== undefined) return `${edge.from} imports ${edge.to}: ${from} stands beside the layers and must import no ${to} code`;
    return undefined;
  }
  if ((BASE as readonly string[]).includes(from)) {
    if ((BASE as readonly string[]).includes(to)) return undefined;
    if (edge.typeOnly && (to === 'config' || to === 'logs')) return undefined;
    return `${edge.from} imports ${edge.to}: the base (${BASE.join(', ')}) imports only itself and the types of config and log records`;
  }
  return `${edge.from} is in src/${from}, which the layer rules do not place: add it to test/architecture/import-graph.ts`;
}

/** Every import cycle between files, each once, as a list of files ending where it began. */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') {
        const cycle = path.slice(path.indexOf(to));
        const key = [...cycle].sort().join(' ');
        if (!found.has(key)) found.set(key, [...cycle, to]);
      } else if (!state.has(to)) visit(to);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of next.keys()) if (!state.has(file)) visit(file);
  return [...found.values()];
}
