/**
 * `${VAR}` interpolation in config values.
 *
 * - `${VAR}`: the variable's value; an error if it is unset (where it matters).
 * - `${VAR:-default}`: the default when VAR is unset or empty.
 * - `${VAR-default}`: the default only when VAR is unset.
 * - `$${`: a literal `${`.
 */

/** A position in the config file (1-based). */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A `${VAR}` reference that had no value and no default. */
export interface UnsetVariable {
  path: readonly (string | number)[];
  display: string;
  variable: string;
  position?: SourcePosition | undefined;
}

interface Piece {
  literal?: string;
  variable?: string;
  fallback?: string;
  /** `:-` (unset or empty) rather than `-` (unset only). */
  emptyCounts?: boolean;
}

export interface ParsedTemplate {
  /** Variables referenced, in order. */
  variables: string[];
  /** The whole value is one reference (so it may be read as a number or boolean). */
  whole: boolean;
  error?: string;
  /**
   * The value with references replaced; `unset` names references with no
   * value and no default; `values` are the environment values used (not the
   * defaults), so that secrets can be told from text written in the file.
   */
  render(env: NodeJS.ProcessEnv): { text: string; unset: string[]; values: string[] };
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s;

/** Parses the `${...}` references of one string value. */
export function interpolate(value: string): ParsedTemplate {
  const pieces: Piece[] = [];
  let last = 0;
  let error: string | undefined;
  for (const match of value.matchAll(REFERENCE)) {
    if (match.index > last) pieces.push({ literal: value.slice(last, match.index) });
    last = match.index + match[0].length;
    if (match[0] === '$${') {
      pieces.push({ literal: '${' });
      continue;
    }
    if (match[0] === '${') {
      error ??= `unterminated "\${" in ${JSON.stringify(value)}: close it with "}", or write "$\${" for a literal "\${"`;
      continue;
    }
    const parsed = NAME_AND_DEFAULT.exec(match[1]!);
    if (!parsed) {
      error ??= `"${match[0]}" is not a valid reference: use \${NAME} or \${NAME:-default}, where NAME is letters, digits and _`;
      continue;
    }
    pieces.push({ variable: parsed[1]!, fallback: parsed[3], emptyCounts: parsed[2] === ':-' });
  }
  if (last < value.length) pieces.push({ literal: value.slice(last) });
  const variables = pieces.flatMap((p) => (p.variable ? [p.variable] : []));
  return {
    variables,
    whole: pieces.length === 1 && pieces[0]!.variable !== undefined,
    ...(error ? { error } : {}),
    render(env) {
      let text = '';
      const unset: string[] = [];
      const values: string[] = [];
      for (const piece of pieces) {
        if (piece.literal !== undefined) {
          text += piece.literal;
          continue;
        }
        const current = env[piece.variable!];
        // An empty value counts as unset for `${VAR}` too: `export KEY=` is a common
        // way to "unset" a key, and an empty API key is never what was meant.
        const missing = current === undefined || (current === '' && (piece.emptyCounts || piece.fallback === undefined));
        if (!missing) {
          text += current;
          values.push(current);
        }
        else if (piece.fallback !== undefined) text += piece.fallback;
        else unset.push(piece.variable!);
      }
      return { text, unset, values };
    },
  };
}
