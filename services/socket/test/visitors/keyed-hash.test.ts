import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyedHash } from '../../src/visitors/keyed-hash.js';

const hmac32 = (key: Buffer, auctionId: string, identity: string): number =>
  createHmac('sha256', key).update(auctionId).update('\n').update(identity).digest().readUInt32BE(0);

/** Text of `length` UTF-16 units: ASCII mostly, then characters of 2 and 3 UTF-8 bytes, astral ones (surrogate pairs) and lone surrogates. */
function randomText(length: number): string {
  const pick = [
    () => String.fromCharCode(randomInt(0x20, 0x7f)),
    () => String.fromCharCode(randomInt(0x80, 0x800)),
    () => String.fromCharCode(randomInt(0x800, 0xd800)),
    () => String.fromCodePoint(randomInt(0x10000, 0x110000)),
    () => String.fromCharCode(randomInt(0xd800, 0xe000)),
  ];
  let text = '';
  while (text.length < length) text += (pick[randomInt(0, 8) < 4 ? 0 : randomInt(1, pick.length)] ?? pick[0]!)();
  return text;
}

describe('KeyedHash', () => {
  it('gives what node:crypto\'s HMAC-SHA256 gives, for every message length across block boundaries', () => {
    const key = randomBytes(32);
    const hash = new KeyedHash(key);
    const auctionId = randomBytes(12).toString('hex');
    // 25 bytes of auction id and newline before the identity: lengths 0–300 cross every padding case.
    for (let length = 0; length <= 300; length++) {
      const identity = 'x'.repeat(length);
      expect(hash.key(auctionId, identity), `identity of ${String(length)} bytes`).toBe(hmac32(key, auctionId, identity));
    }
  });

  it('gives what node:crypto gives for random keys of up to a block and random Unicode identities', () => {
    for (let i = 0; i < 2_000; i++) {
      const key = randomBytes(randomInt(0, 65));
      const hash = new KeyedHash(key);
      const auctionId = randomText(randomInt(0, 30));
      const identity = randomText(randomInt(0, 400));
      expect(hash.key(auctionId, identity)).toBe(hmac32(key, auctionId, identity));
      // The same object again, so that what the first call left in its scratch cannot matter.
      const other = randomText(randomInt(0, 50));
      expect(hash.key(auctionId, other)).toBe(hmac32(key, auctionId, other));
    }
  });

  it('takes an identity longer than its scratch, and short ones after it', () => {
    const key = randomBytes(32);
    const hash = new KeyedHash(key);
    const long = `a:203.0.113.9\n${randomText(20_000)}`;
    expect(hash.key('665f1c2a9b1e8a0012345678', long)).toBe(hmac32(key, '665f1c2a9b1e8a0012345678', long));
    expect(hash.key('665f1c2a9b1e8a0012345678', 'v:x')).toBe(hmac32(key, '665f1c2a9b1e8a0012345678', 'v:x'));
  });

  it('refuses a key longer than a block (HMAC would hash it first; the salts are 32 bytes)', () => {
    expect(() => new KeyedHash(randomBytes(65))).toThrow(RangeError);
  });

  it('can make no key like the one it made before once wiped', () => {
    const key = randomBytes(32);
    const hash = new KeyedHash(key);
    const before = hash.key('665f1c2a9b1e8a0012345678', 'v:x');
    hash.wipe();
    expect(hash.key('665f1c2a9b1e8a0012345678', 'v:x')).not.toBe(before);
  });
});
