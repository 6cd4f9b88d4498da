import { ErrorCode, type ErrorResponse } from '@viewer-analytics/shared';

/** An error a handler throws on purpose: the error handler replies with exactly this status and code. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** A field of the request broke a rule; `path` names it like Fastify does, e.g. `body/snapshots/17/minViewers`. */
export function validationError(path: string, message: string): HttpError {
  return new HttpError(400, ErrorCode.validation, `${path}: ${message}`);
}

export function unauthorized(message: string): HttpError {
  return new HttpError(401, ErrorCode.unauthorized, message);
}

export function forbidden(message: string): HttpError {
  return new HttpError(403, ErrorCode.forbidden, message);
}

export function auctionNotFound(id: string): HttpError {
  return new HttpError(404, ErrorCode.auctionNotFound, `auction ${id} not found`);
}

/** The body of every error reply. */
export function errorBody(code: ErrorCode, message: string): ErrorResponse {
  return { success: false, error: { code, message } };
}
