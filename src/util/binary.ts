/**
 * The single-file binary (`npm run build:binary`, Node's single executable
 * application support) carries TokenPak and its dependencies, but not the
 * optional packages (pg, redis): an error about one of those must say so
 * instead of asking for an `npm install` that the binary cannot see.
 */

/** True inside the single-file binary. */
export function isSingleExecutable(): boolean {
  // getBuiltinModule, not an import: node:sea is asked only when an optional package failed to load.
  const sea = process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined;
  return sea?.isSea?.() ?? false;
}

/**
 * The fix to print when the optional package `name`, needed for `feature`,
 * did not load: install it, or, in the binary, run the npm package instead.
 */
export function optionalPackageFix(name: string, feature: string): string {
  return isSingleExecutable()
    ? `The single-file tokenpak binary does not include the optional ${name} package, which ${feature} needs. Run TokenPak from npm for it (npm install tokenpak ${name}, then npx tokenpak), or configure the binary without it.`
    : `${feature} needs the ${name} package. Install it: npm install ${name}`;
}
