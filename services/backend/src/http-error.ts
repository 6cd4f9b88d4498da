import { ErrorCode, type ErrorResponse } from '@viewer-analytics/shared';

/** An error a handler throws on purpose: the error handler replies with exactly this status, code and headers. */
export class HttpError extends Error {
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions & { readonly headers?: Readonly<Record<string, string>> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
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

/** Too many requests; `retryAfterSeconds` goes out as Retry-After. */
export function rateLimited(retryAfterSeconds: number): HttpError {
  return new HttpError(429, ErrorCode.rateLimited, `Too many requests: retry in ${String(retryAfterSeconds)} s`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/** The body of every error reply. */
export function errorBody(code: ErrorCode, message: string): ErrorResponse {
  return { success: false, error: { code, message } };
}
