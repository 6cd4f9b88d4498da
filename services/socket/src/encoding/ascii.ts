/**
 * Allocation-free ASCII writers for the hot paths (broadcast frames, snapshot batches): they
 * write digits and timestamps straight into preallocated byte buffers instead of building strings.
 */

const ZERO = 48;

/** Writes a constant's bytes; returns the offset after them. */
export function writeBytes(target: Uint8Array, offset: number, bytes: Uint8Array): number {
  target.set(bytes, offset);
  return offset + bytes.length;
}

/** Writes a non-negative integer (below 2^53) in decimal; returns the offset after it. */
export function writeUint(target: Uint8Array, offset: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = value;
  for (let i = offset + digits - 1; i >= offset; i--) {
    target[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return offset + digits;
}

export const AVG_DECIMALS = 4;
const AVG_SCALE = 10 ** AVG_DECIMALS;

/** `numerator / denominator` rounded to four decimals, as the wire carries averages. */
export function roundedAverage(numerator: number, denominator: number): number {
  return Math.round((numerator * AVG_SCALE) / denominator) / AVG_SCALE;
}

/** Writes `numerator / denominator` (both ≥ 0) rounded to four decimals, trailing zeros dropped. */
export function writeAverage(target: Uint8Array, offset: number, numerator: number, denominator: number): number {
  const scaled = Math.round((numerator * AVG_SCALE) / denominator);
  let fraction = scaled % AVG_SCALE;
  let end = writeUint(target, offset, (scaled - fraction) / AVG_SCALE);
  if (fraction === 0) return end;
  target[end++] = 46; // '.'
  let width = AVG_DECIMALS;
  while (fraction % 10 === 0) {
    fraction /= 10;
    width--;
  }
  for (let i = end + width - 1; i >= end; i--) {
    target[i] = ZERO + (fraction % 10);
    fraction = Math.floor(fraction / 10);
  }
  return end + width;
}

export const ISO_TIMESTAMP_LENGTH = 24;
const DAY_MS = 86_400_000;
/** `YYYY-MM-DDT` of the day last written: the calendar is Date's business, once per day. */
const dayText = new Uint8Array(11);
let dayStart = Number.NaN;
let nextDay = Number.NaN;

function writePadded(target: Uint8Array, offset: number, value: number, width: number): void {
  let rest = value;
  for (let i = offset + width - 1; i >= offset; i--) {
    target[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

/**
 * Writes epoch milliseconds (1970 onwards) as Date#toISOString does, `YYYY-MM-DDTHH:mm:ss.sssZ`,
 * without a Date or a string but once a day: broadcast ticks write one five times a second.
 */
export function writeIsoTimestamp(target: Uint8Array, offset: number, epochMs: number): number {
  // Comparisons, not arithmetic, find the day: epoch milliseconds are beyond V8's small
  // integers, and code not yet optimised would box every intermediate result.
  if (!(epochMs >= dayStart && epochMs < nextDay)) {
    dayStart = epochMs - (epochMs % DAY_MS);
    nextDay = dayStart + DAY_MS;
    const iso = new Date(dayStart).toISOString();
    for (let i = 0; i < dayText.length; i++) dayText[i] = iso.charCodeAt(i);
  }
  target.set(dayText, offset);
  let msOfDay = epochMs - dayStart;
  const hours = Math.floor(msOfDay / 3_600_000);
  msOfDay -= hours * 3_600_000;
  const minutes = Math.floor(msOfDay / 60_000);
  msOfDay -= minutes * 60_000;
  const seconds = Math.floor(msOfDay / 1000);
  writePadded(target, offset + 11, hours, 2);
  target[offset + 13] = 58; // ':'
  writePadded(target, offset + 14, minutes, 2);
  target[offset + 16] = 58;
  writePadded(target, offset + 17, seconds, 2);
  target[offset + 19] = 46; // '.'
  writePadded(target, offset + 20, msOfDay - seconds * 1000, 3);
  target[offset + 23] = 90; // 'Z'
  return offset + ISO_TIMESTAMP_LENGTH;
}

export function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

const BASE64_ALPHABET = ascii('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 61; // '='

/** Length of the standard (padded) base64 text of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** Writes `source[from, from + length)` as standard padded base64; returns the offset after it. */
export function writeBase64(target: Uint8Array, offset: number, source: Uint8Array, from: number, length: number): number {
  let at = offset;
  const end = from + length;
  let i = from;
  for (; i + 2 < end; i += 3) {
    const triple = (source[i]! << 16) | (source[i + 1]! << 8) | source[i + 2]!;
    target[at++] = BASE64_ALPHABET[triple >>> 18]!;
    target[at++] = BASE64_ALPHABET[(triple >>> 12) & 63]!;
    target[at++] = BASE64_ALPHABET[(triple >>> 6) & 63]!;
    target[at++] = BASE64_ALPHABET[triple & 63]!;
  }
  const rest = end - i;
  if (rest > 0) {
    const triple = (source[i]! << 16) | (rest === 2 ? source[i + 1]! << 8 : 0);
    target[at++] = BASE64_ALPHABET[triple >>> 18]!;
    target[at++] = BASE64_ALPHABET[(triple >>> 12) & 63]!;
    target[at++] = rest === 2 ? BASE64_ALPHABET[(triple >>> 6) & 63]! : PAD;
    target[at++] = PAD;
  }
  return at;
}
