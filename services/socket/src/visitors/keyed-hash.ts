/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** SHA-256's initial hash value (FIPS 180-4, 5.3.3). */
const INITIAL = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
const DIGEST = 32;
const NEWLINE = 0x0a;
/** Room for an auction id and a usual identity; a longer one grows the scratch once. */
const INITIAL_SCRATCH = 1024;

/** The message schedule, shared: nothing runs between a compression's first and last line. */
const schedule = new Int32Array(64);

/** SHA-256's compression of the 64-byte block at `offset` into `state`. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = ((bytes[j] ?? 0) << 24) | ((bytes[j + 1] ?? 0) << 16) | ((bytes[j + 2] ?? 0) << 8) | (bytes[j + 3] ?? 0);
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] ?? 0;
    const y = w[i - 2] ?? 0;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = ((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) | 0;
  }
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  let e = state[4] ?? 0;
  let f = state[5] ?? 0;
  let g = state[6] ?? 0;
  let h = state[7] ?? 0;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + (K[i] ?? 0) + (w[i] ?? 0)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
  state[4] = ((state[4] ?? 0) + e) | 0;
  state[5] = ((state[5] ?? 0) + f) | 0;
  state[6] = ((state[6] ?? 0) + g) | 0;
  state[7] = ((state[7] ?? 0) + h) | 0;
}

/**
 * Pads the `length` message bytes from `start` (after `before` bytes hashed already) as SHA-256
 * does; returns where the padded message ends, a whole number of blocks after `start`.
 */
function pad(bytes: Uint8Array, start: number, length: number, before: number): number {
  let end = start + length;
  bytes[end++] = 0x80;
  while ((end - start) % BLOCK !== BLOCK - 8) bytes[end++] = 0;
  // The length in bits as 64 bits big-endian; a message here is far below 2^32 bits.
  const bits = (before + length) * 8;
  bytes.fill(0, end, end + 4);
  bytes[end + 4] = bits >>> 24;
  bytes[end + 5] = (bits >>> 16) & 0xff;
  bytes[end + 6] = (bits >>> 8) & 0xff;
  bytes[end + 7] = bits & 0xff;
  return end + 8;
}

/**
 * HMAC-SHA256(key, auction id + "\n" + identity), its first four bytes as a uint32: exactly what
 * `createHmac('sha256', key).update(auctionId).update('\n').update(identity).digest().readUInt32BE(0)`
 * gives (the tests check it against node:crypto), allocating nothing but the number it returns (a
 * uint32 of 2^31 or more is a heap number where the call is not inlined). Hashing a key into HMAC's
 * inner and outer pads is done once, and the message goes through a scratch buffer kept here: a
 * `createHmac` per join cost the server ~45 µs of CPU in place (a native-backed object, its buffers
 * and their finalisation at GC), this ~4 µs. Keys of up to one block (64 bytes: the salts are 32).
 */
export class KeyedHash {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  /** The message, padded; then the inner digest, padded, in its own block at the end. */
  private scratch = Buffer.alloc(INITIAL_SCRATCH + BLOCK);

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError(`a key of at most ${BLOCK} bytes, not ${key.length}`);
    const block = new Uint8Array(BLOCK);
    for (const [state, byte] of [
      [this.inner, 0x36],
      [this.outer, 0x5c],
    ] as const) {
      block.fill(byte);
      for (let i = 0; i < key.length; i++) block[i] = (key[i] ?? 0) ^ byte;
      state.set(INITIAL);
      compress(state, block, 0);
    }
    block.fill(0);
  }

  /** The first 32 bits of the HMAC of `auctionId`, a newline and `identity` (UTF-8). */
  key(auctionId: string, identity: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the padding up to 72 more.
    const room = (auctionId.length + 1 + identity.length) * 3 + 72;
    if (room > this.scratch.length - BLOCK) this.grow(room);
    const bytes = this.scratch;
    let length = bytes.write(auctionId, 0, 'utf8');
    bytes[length++] = NEWLINE;
    length += bytes.write(identity, length, 'utf8');
    const padded = pad(bytes, 0, length, BLOCK);
    const { state } = this;
    state.set(this.inner);
    for (let offset = 0; offset < padded; offset += BLOCK) compress(state, bytes, offset);

    const last = bytes.length - BLOCK;
    for (let i = 0; i < 8; i++) bytes.writeInt32BE(state[i] ?? 0, last + i * 4);
    pad(bytes, last, DIGEST, BLOCK);
    state.set(this.outer);
    compress(state, bytes, last);
    // The identity was in the scratch: it does not stay in memory after the key is made.
    bytes.fill(0, 0, padded);
    return (state[0] ?? 0) >>> 0;
  }

  /** Overwrites the key's pads: nothing left here can make another key. */
  wipe(): void {
    this.inner.fill(0);
    this.outer.fill(0);
    this.state.fill(0);
    this.scratch.fill(0);
  }

  private grow(room: number): void {
    this.scratch.fill(0);
    this.scratch = Buffer.alloc(room + BLOCK);
  }
}
