import { MongoBulkWriteError } from 'mongodb';

/** MongoDB's duplicate-key error: a unique index refused an insert (or an upsert lost a race). */
export const DUPLICATE_KEY = 11000;

/**
 * A bulk insert whose every refused document was a duplicate key: a retry or a race, the rest was
 * written. At least one write error: the driver also throws MongoBulkWriteError, with none, when
 * it lost the connection or found no server (see bulkWriteInterrupted), and then nothing is known
 * written.
 */
export function onlyDuplicateKeys(error: unknown): error is MongoBulkWriteError {
  if (!(error instanceof MongoBulkWriteError)) return false;
  const writeErrors = [error.writeErrors].flat();
  return writeErrors.length > 0 && writeErrors.every((writeError) => writeError.code === DUPLICATE_KEY);
}

/**
 * A bulk write the driver gave up on without the server's answer (connection lost, pool cleared,
 * no server selectable): it wraps those errors in MongoBulkWriteError too, with no write error and
 * no code of its own (a write concern failure has one).
 */
export function bulkWriteInterrupted(error: unknown): error is MongoBulkWriteError {
  return error instanceof MongoBulkWriteError && [error.writeErrors].flat().length === 0 && typeof error.code !== 'number';
}
