/** MongoDB's duplicate-key error: a unique index refused an insert (or an upsert lost a race). */
export const DUPLICATE_KEY = 11000;
