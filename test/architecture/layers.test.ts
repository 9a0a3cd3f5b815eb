/**
 * Imports in `src/` run one way: cli and vitest → server → router → providers →
 * formats, with config, logs and pricing beside the stack and errors, util and
 * canonical types at the base (rules in ./import-graph.ts). No file imports
 * itself through a cycle.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cycles, importEdges, violation } from './import-graph.ts';

describe('layers of src/', () => {
  const edges = importEdges();

  it('reads the imports of the source tree (the check is not looking at nothing)', () => {
    expect(edges).toContainEqual({ from: 'src/server/app.ts', to: 'src/router/router.ts', typeOnly: true });
    expect(edges).toContainEqual({ from: 'src/server/proxy.ts', to: 'src/router/router.ts', typeOnly: false });
    // Dynamic imports count too.
    expect(edges).toContainEqual({ from: 'src/logs/create-store.ts', to: 'src/logs/sqlite-store.ts', typeOnly: false });
  });

  it('no import runs against the layer order', () => {
    expect(edges.map(violation).filter((why) => why !== undefined)).toEqual([]);
  });

  it('no import cycle between files', () => {
    expect(cycles(edges)).toEqual([]);
  });
});

describe('the layer check itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpak-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const edge = (from: string, to: string, typeOnly = false) => ({ from, to, typeOnly });

  it('refuses imports that point up, sideways between front ends, or from beside the stack into it', () => {
    expect(violation(edge('src/formats/tokenpak.ts', 'src/router/router.ts', true))).toMatch(/formats is below router/);
    expect(violation(edge('src/providers/registry.ts', 'src/server/app.ts'))).toMatch(/providers is below server/);
    expect(violation(edge('src/vitest/scope.ts', 'src/cli/main.ts'))).toMatch(/one layer/);
    expect(violation(edge('src/config/load.ts', 'src/providers/mock/answers.ts'))).toMatch(/config stands beside the layers/);
    expect(violation(edge('src/logs/types.ts', 'src/formats/types.ts', true))).toMatch(/logs stands beside the layers/);
    expect(violation(edge('src/canonical/types.ts', 'src/pricing/pricing.ts'))).toMatch(/the base/);
    expect(violation(edge('src/errors.ts', 'src/config/load.ts'))).toMatch(/the base/);
    expect(violation(edge('src/server/app.ts', 'src/providers/http/loop.ts'))).toMatch(/providers' internals/);
    expect(violation(edge('src/widgets/a.ts', 'src/errors.ts'))).toMatch(/do not place/);
  });

  it('lets imports run down, to the side and to the base', () => {
    expect(violation(edge('src/cli/proxy.ts', 'src/server/proxy.ts'))).toBeUndefined();
    expect(violation(edge('src/server/proxy.ts', 'src/providers/registry.ts'))).toBeUndefined();
    expect(violation(edge('src/providers/openai/openai-provider.ts', 'src/formats/openai-chat.ts'))).toBeUndefined();
    expect(violation(edge('src/providers/openai/openai-provider.ts', 'src/providers/http/upstream.ts'))).toBeUndefined();
    expect(violation(edge('src/router/router.ts', 'src/logs/types.ts', true))).toBeUndefined();
    expect(violation(edge('src/errors.ts', 'src/logs/types.ts', true))).toBeUndefined();
  });

  it('finds cycles and type-only imports in real files', () => {
    file('src/a/one.ts', "import type { B } from '../b/two.ts';\nexport const a = 1;\n");
    file('src/b/two.ts', "import { a } from '../a/one.ts';\nexport type B = typeof a;\nexport const load = () => import('./three.ts');\n");
    file('src/b/three.ts', "export { load } from './two.ts';\n");
    const found = importEdges(join(dir, 'src'));
    expect(found.map((e) => [e.from.replace(/.*\/src\//, ''), e.to.replace(/.*\/src\//, ''), e.typeOnly]).sort()).toEqual([
      ['a/one.ts', 'b/two.ts', true],
      ['b/three.ts', 'b/two.ts', false],
      ['b/two.ts', 'a/one.ts', false],
      ['b/two.ts', 'b/three.ts', false],
    ]);
    expect(cycles(found).map((cycle) => cycle.length).sort()).toEqual([3, 3]);
  });
});
