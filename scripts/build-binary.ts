/**
 * `npm run build:binary`: the `tokenpak` CLI as one Linux x64 executable, with
 * Node's single executable application (SEA) support. Node 24 runs a CommonJS
 * main script only and its `require` there reaches built-in modules only, so
 * the CLI and every dependency it loads (undici, yaml, zod, ajv, gpt-tokenizer)
 * are bundled into one CommonJS file. The optional packages (pg, redis) are
 * bundled when they are installed here, and left out otherwise: TokenPak then
 * says so when a config asks for them.
 *
 * Steps: tsup bundle → `node --experimental-sea-config` (the preparation blob)
 * → a copy of this node binary, its symbol table stripped → postject injects
 * the blob. Usage: `node scripts/build-binary.ts [--out FILE]`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'tsup';

const root = resolve(import.meta.dirname, '..');
/** Optional packages, loaded only when configured: in the binary when installed at build time. */
const OPTIONAL = ['pg', 'redis'];
/** pg's native binding is an optional package of pg's own, which it loads only when asked. */
const NEVER_BUNDLED = ['pg-native'];
/** The fuse Node's SEA loader looks for (doc/api/single-executable-applications.md). */
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface BinaryBuild {
  readonly file: string;
  readonly bytes: number;
  readonly bundleBytes: number;
  /** Optional packages not installed at build time, so not in the binary. */
  readonly leftOut: readonly string[];
}

function isInstalled(name: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Builds the binary to `out` (default build/tokenpak). */
export async function buildBinary(out = join(root, 'build/tokenpak')): Promise<BinaryBuild> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`build:binary makes a Linux x64 executable from the running node; this is ${process.platform}-${process.arch}. Run it on Linux x64.`);
  }
  const leftOut = OPTIONAL.filter((name) => !isInstalled(name));
  const work = mkdtempSync(join(tmpdir(), 'tokenpak-binary-'));
  try {
    await build({
      config: false,
      entry: { tokenpak: join(root, 'src/cli/main.ts') },
      outDir: work,
      format: ['cjs'],
      platform: 'node',
      target: 'node24',
      splitting: false,
      sourcemap: false,
      dts: false,
      clean: false,
      silent: true,
      // Everything goes in (node: built-ins need no bundling) except what is not installed.
      noExternal: [new RegExp(`^(?!node:|(${[...leftOut, ...NEVER_BUNDLED].join('|')})(/|$))`)],
      external: [...leftOut, ...NEVER_BUNDLED],
      removeNodeProtocol: false,
      esbuildPlugins: [bundleCreateRequire],
    });
    const bundle = join(work, 'tokenpak.cjs');
    const blob = join(work, 'tokenpak.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(
      seaConfig,
      JSON.stringify({
        main: bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        // The code cache compiles the bundle at build time: a shorter start, at the cost of a larger file.
        useCodeCache: true,
        // What bin/tokenpak.js's shebang gives node (a bounded young generation; see bench/README.md).
        execArgv: ['--max-semi-space-size=8'],
      }),
    );
    execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { force: true });
    copyFileSync(process.execPath, out);
    chmodSync(out, 0o755);
    stripSymbols(out);
    const { inject } = createRequire(import.meta.url)('postject') as {
      inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string; overwrite?: boolean }): Promise<void>;
    };
    // postject's ELF reader (LIEF) warns about each note section of node's binary it cannot name;
    // the injection does not depend on them. Its console.warn is taken when inject() loads it.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (!/^warning: Can't find string offset for section name/.test(String(args[0]))) warn(...args);
    };
    try {
      await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
    } finally {
      console.warn = warn;
    }
    return { file: out, bytes: statSync(out).size, bundleBytes: statSync(bundle).size, leftOut };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Node's own symbol table (not the dynamic symbols that native addons link
 * against) is 18 MB of the 121 MB node 24 binary, and the binary runs nothing
 * native of its own. `strip` is binutils', present on most Linux machines;
 * without it the binary is only larger.
 */
function stripSymbols(file: string): void {
  try {
    execFileSync('strip', ['--strip-all', file], { stdio: 'ignore' });
  } catch {
    // No strip on this machine: keep the debug info.
  }
}

/**
 * `createRequire(import.meta.url)('x')` is how the ESM build loads a CommonJS
 * module synchronously and lazily; a bundler cannot follow it, and in the
 * binary there is no node_modules to require from. In the CommonJS bundle a
 * plain `require('x')` is both bundled and still lazy.
 */
const bundleCreateRequire = {
  name: 'tokenpak-bundle-create-require',
  setup(esbuild: { onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'ts' } | undefined): void }) {
    esbuild.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('createRequire(import.meta.url)(')) return undefined;
      return { contents: text.replaceAll('createRequire(import.meta.url)(', 'require('), loader: 'ts' };
    });
  },
};

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const result = await buildBinary(values.out ? resolve(values.out) : undefined);
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  process.stdout.write(`✓ ${result.file}: ${mb(result.bytes)} MB (of which the bundled CLI ${mb(result.bundleBytes)} MB)\n`);
  if (result.leftOut.length > 0) process.stdout.write(`  not installed, so not included: ${result.leftOut.join(', ')} (optional)\n`);
}
