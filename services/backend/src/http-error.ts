import createError from '@fastify/error';
import { ErrorCode, type ErrorResponse } from '@viewer-analytics/shared';

/*
 * The errors a handler or hook throws on purpose. Each class carries its status and code; the
 * error handler answers them with exactly those, and the message as it is.
 */

/** A field of the request broke a rule; the path names it like Fastify does, e.g. `body/snapshots/17/minViewers`. */
export const ValidationError = createError<typeof ErrorCode.validation, 400, [path: string, problem: string]>(ErrorCode.validation, '%s: %s', 400);

/** Like ValidationError, but the window lies ahead of this backend's clock: the sender may send it again later. */
export const SnapshotInFutureError = createError<typeof ErrorCode.snapshotInFuture, 400, [path: string, problem: string]>(
  ErrorCode.snapshotInFuture,
  '%s: %s',
  400,
);

export const UnauthorizedError = createError<typeof ErrorCode.unauthorized, 401, [reason: string]>(ErrorCode.unauthorized, '%s', 401);

export const ForbiddenError = createError<typeof ErrorCode.forbidden, 403, [reason: string]>(ErrorCode.forbidden, '%s', 403);

export const AuctionNotFoundError = createError<typeof ErrorCode.auctionNotFound, 404, [auctionId: string]>(
  ErrorCode.auctionNotFound,
  'auction %s not found',
  404,
);

/** Too many requests; the error handler sends `retryAfterSeconds` as Retry-After. */
export class RateLimitedError extends createError<typeof ErrorCode.rateLimited, 429, [retryAfterSeconds: number]>(
  ErrorCode.rateLimited,
  'Too many requests: retry in %d s',
  429,
) {
  constructor(readonly retryAfterSeconds: number) {
    super(retryAfterSeconds);
  }
}

export const DatabaseUnavailableError = createError<typeof ErrorCode.databaseUnavailable, 503, [reason: string, options?: { cause: unknown }]>(
  ErrorCode.databaseUnavailable,
  '%s',
  503,
);

/** A process still loading what it answers from at start: expected for seconds, not an outage. */
export const NotReadyError = createError<typeof ErrorCode.databaseUnavailable, 503, [reason: string]>(ErrorCode.databaseUnavailable, '%s', 503);

/** Every class above: what the error handler answers as thrown. */
const HTTP_ERRORS = [
  ValidationError,
  SnapshotInFutureError,
  UnauthorizedError,
  ForbiddenError,
  AuctionNotFoundError,
  RateLimitedError,
  DatabaseUnavailableError,
  NotReadyError,
] as const;

/** An instance of one of HTTP_ERRORS. */
export type HttpError = InstanceType<(typeof HTTP_ERRORS)[number]>;

export function isHttpError(error: unknown): error is HttpError {
  return HTTP_ERRORS.some((type) => error instanceof type);
}

/** The body of every error reply. */
export function errorBody(code: ErrorCode, message: string): ErrorResponse {
  return { success: false, error: { code, message } };
}
