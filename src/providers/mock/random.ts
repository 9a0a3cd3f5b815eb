/**
 * Counter-based randomness: every draw is a pure function of (seed, call
 * number, purpose), so a run replays exactly, whatever order draws are made in.
 */

/** FNV-1a over a string, then a final avalanche (murmur3 fmix32). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) for this seed, call number and purpose. */
export function draw(seed: number, call: number, purpose: string): number {
  return hash32(`${seed}:${call}:${purpose}`) / 0x1_0000_0000;
}
