import { MongoBulkWriteError } from 'mongodb';

/** MongoDB's duplicate-key error: a unique index refused an insert (or an upsert lost a race). */
export const DUPLICATE_KEY = 11000;

/** A bulk insert whose every refused document was a duplicate key: a retry or a race, the rest was written. */
export function onlyDuplicateKeys(error: unknown): error is MongoBulkWriteError {
  return error instanceof MongoBulkWriteError && [error.writeErrors].flat().every((writeError) => writeError.code === DUPLICATE_KEY);
}
