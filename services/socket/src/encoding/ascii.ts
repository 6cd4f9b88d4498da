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

function writePadded(target: Uint8Array, offset: number, value: number, width: number): void {
  let rest = value;
  for (let i = offset + width - 1; i >= offset; i--) {
    target[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

/**
 * Writes epoch milliseconds as `YYYY-MM-DDTHH:mm:ss.sssZ` (what Date#toISOString gives for years
 * 0–9999) without creating a Date or a string. Civil-from-days after H. Hinnant's algorithm.
 */
export function writeIsoTimestamp(target: Uint8Array, offset: number, epochMs: number): number {
  const days = Math.floor(epochMs / 86_400_000);
  let msOfDay = epochMs - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);

  const hours = Math.floor(msOfDay / 3_600_000);
  msOfDay -= hours * 3_600_000;
  const minutes = Math.floor(msOfDay / 60_000);
  msOfDay -= minutes * 60_000;
  const seconds = Math.floor(msOfDay / 1000);
  const millis = msOfDay - seconds * 1000;

  writePadded(target, offset, year, 4);
  target[offset + 4] = 45; // '-'
  writePadded(target, offset + 5, month, 2);
  target[offset + 7] = 45;
  writePadded(target, offset + 8, day, 2);
  target[offset + 10] = 84; // 'T'
  writePadded(target, offset + 11, hours, 2);
  target[offset + 13] = 58; // ':'
  writePadded(target, offset + 14, minutes, 2);
  target[offset + 16] = 58;
  writePadded(target, offset + 17, seconds, 2);
  target[offset + 19] = 46; // '.'
  writePadded(target, offset + 20, millis, 3);
  target[offset + 23] = 90; // 'Z'
  return offset + ISO_TIMESTAMP_LENGTH;
}

export function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
