/**
 * Murmur3's 32-bit finaliser over two words: well-mixed uint32 hashes of consecutive integers, like
 * the socket server's visitor keys. With `b` left at 0 it is a bijection on uint32 (distinct inputs,
 * distinct hashes), which the sketch tests count on.
 */
export function mix32(a: number, b = 0): number {
  let h = (a ^ Math.imul(b, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
