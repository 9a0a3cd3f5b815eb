/**
 * The fix printed when an optional package (pg, redis) did not load: npm's in
 * a package install, "run it from npm" in the single-file binary (which never
 * sees node_modules). The binary itself is tested in test/binary/.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSingleExecutable, optionalPackageFix } from '../../src/util/binary.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Makes node:sea answer isSea() as the binary's node does. */
function insideBinary() {
  const real = process.getBuiltinModule.bind(process);
  vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) => (id === 'node:sea' ? { isSea: () => true } : real(id))) as typeof process.getBuiltinModule);
}

describe('optionalPackageFix', () => {
  it('asks for npm install outside the binary', () => {
    expect(isSingleExecutable()).toBe(false);
    expect(optionalPackageFix('redis', 'state.redis')).toBe('state.redis needs the redis package. Install it: npm install redis');
  });

  it('says the binary does not include the package, and what to do instead', () => {
    insideBinary();
    expect(isSingleExecutable()).toBe(true);
    expect(optionalPackageFix('redis', 'state.redis')).toBe(
      'The single-file tokenpak binary does not include the optional redis package, which state.redis needs. Run TokenPak from npm for it (npm install tokenpak redis, then npx tokenpak), or configure the binary without it.',
    );
  });
});
