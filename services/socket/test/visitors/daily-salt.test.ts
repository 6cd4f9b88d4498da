import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DailySalt, msUntilMidnight, randomSalt, type SaltSource } from '../../src/visitors/daily-salt.js';

const DAY = 86_400_000;
const AUCTION = '665f1c2a9b1e8a0012345678';

/** The system's random salts, with a copy of each kept, as an attacker holding yesterday's would. */
function recordingSource(): SaltSource & { readonly handedOut: Buffer[]; readonly copies: Buffer[] } {
  const handedOut: Buffer[] = [];
  const copies: Buffer[] = [];
  return {
    handedOut,
    copies,
    saltFor(day) {
      const salt = randomSalt.saltFor(day) as Buffer;
      handedOut.push(salt);
      copies.push(Buffer.from(salt));
      return salt;
    },
  };
}

const keyWith = (salt: Buffer, identity: string): number =>
  createHmac('sha256', salt).update(AUCTION).update('\n').update(identity).digest().readUInt32BE(0);

describe('DailySalt', () => {
  it('gives one key per visitor and auction all day, another the next day, and drops yesterday\'s salt', () => {
    let now = Date.UTC(2026, 11, 1, 23, 59, 59, 500);
    const source = recordingSource();
    const salt = new DailySalt(source, () => now);
    const identity = 'a:203.0.113.9\nBrowser A';
    const today = salt.visitorKey(AUCTION, identity);
    expect(salt.visitorKey(AUCTION, identity)).toBe(today);
    expect(salt.visitorKey('665f1c2a9b1e8a0012345679', identity)).not.toBe(today);
    expect(salt.visitorKey(AUCTION, 'a:203.0.113.9\nBrowser B')).not.toBe(today);
    expect(source.handedOut).toHaveLength(1);

    now += 1_000; // past midnight
    const tomorrow = salt.visitorKey(AUCTION, identity);
    expect(source.handedOut).toHaveLength(2);
    expect(tomorrow).not.toBe(today);
    // The salt object of yesterday was wiped when the day turned: nothing in memory can make its keys.
    expect(source.handedOut[0]!.equals(Buffer.alloc(32))).toBe(true);
    // And yesterday's salt (a copy kept outside) cannot reproduce today's keys.
    expect(keyWith(source.copies[0]!, identity)).toBe(today);
    expect(keyWith(source.copies[0]!, identity)).not.toBe(tomorrow);
    expect(keyWith(source.copies[1]!, identity)).toBe(tomorrow);
  });

  it('rotates at midnight even when nobody joins, and not before', () => {
    let now = Date.UTC(2026, 11, 1, 12);
    const source = recordingSource();
    const salt = new DailySalt(source, () => now);
    salt.visitorKey(AUCTION, 'v:x');
    salt.rotate();
    expect(source.handedOut).toHaveLength(1);
    now += msUntilMidnight(now);
    expect(now % DAY).toBe(0);
    salt.rotate();
    expect(source.handedOut).toHaveLength(2);
    expect(source.handedOut[0]!.equals(Buffer.alloc(32))).toBe(true);
  });

  it('makes no key while its source has no salt for the day, and takes it once it has', () => {
    const shared: { salt?: Buffer } = {};
    const salt = new DailySalt({ saltFor: () => shared.salt && Buffer.from(shared.salt) }, () => Date.UTC(2026, 11, 1));
    expect(salt.visitorKey(AUCTION, 'v:x')).toBeUndefined();
    shared.salt = Buffer.alloc(32, 7);
    expect(salt.visitorKey(AUCTION, 'v:x')).toBe(keyWith(shared.salt, 'v:x'));
  });
});
