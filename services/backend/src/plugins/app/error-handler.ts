import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { ErrorCode } from '@viewer-analytics/shared';
import { bulkWriteInterrupted } from '../../database-errors.js';
import { errorBody, isHttpError, NotReadyError, RateLimitedError } from '../../http-error.js';
import { DatabaseUnavailableError } from './database-availability.js';

/** Fastify declares this type but does not export it. */
type SchemaErrorFormatter = Parameters<FastifyInstance['setSchemaErrorFormatter']>[0];

export interface ErrorReply {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Names the field like Fastify does (`body/snapshots/17/peakViewers`, the item index included)
 * and says what is wrong with it. Only the first problem: the client fixes one thing at a time.
 */
export const formatValidationErrors: SchemaErrorFormatter = (errors, dataVar) => {
  const first = errors[0];
  if (first === undefined) return new Error(`${dataVar}: is invalid`);
  const path = `${dataVar}${first.instancePath}`;
  const { params } = first;
  switch (first.keyword) {
    case 'required':
      return new Error(`${path}/${String(params['missingProperty'])}: is required`);
    case 'additionalProperties':
      return new Error(`${path}/${String(params['additionalProperty'])}: is not allowed`);
    case 'enum':
      return new Error(`${path}: must be one of ${(params['allowedValues'] as unknown[]).map(String).join(', ')}`);
    default:
      return new Error(`${path}: ${first.message ?? 'is invalid'}`);
  }
};

const DATABASE_UNAVAILABLE = [DatabaseUnavailableError, MongoServerSelectionError, MongoNetworkError, MongoNotConnectedError, MongoTopologyClosedError, MongoServerClosedError];
/**
 * Server errors of a database going away or failing over (a MongoDB replica set's primary stepping
 * down or shutting down): InterruptedAtShutdown, ShutdownInProgress, PrimarySteppedDown,
 * NotWritablePrimary, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, InterruptedDueToReplStateChange.
 */
const UNAVAILABLE_SERVER_CODES = new Set([11600, 91, 189, 10107, 13435, 13436, 11602]);

/** The database is away, or in the middle of a failover: worth a retry later, not a 500. */
function isDatabaseUnavailable(error: unknown): boolean {
  if (DATABASE_UNAVAILABLE.some((type) => error instanceof type) || bulkWriteInterrupted(error)) return true;
  if (error instanceof MongoServerError && typeof error.code === 'number' && UNAVAILABLE_SERVER_CODES.has(error.code)) return true;
  return error instanceof MongoError && error.hasErrorLabel('RetryableWriteError');
}

/** The code of a client error that Fastify or a plugin raised with only a status. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: ErrorCode.unauthorized,
  403: ErrorCode.forbidden,
  404: ErrorCode.notFound,
  408: ErrorCode.requestTimeout,
  413: ErrorCode.payloadTooLarge,
  414: ErrorCode.uriTooLong,
  415: ErrorCode.unsupportedMediaType,
  429: ErrorCode.rateLimited,
};

/** Longest piece of a request's path an error message repeats: a 10 KB path must not come back whole. */
const MAX_ECHOED_PATH = 100;

/** The request's path without the query string (it may carry secrets), cut short when long. */
export function echoedPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.length <= MAX_ECHOED_PATH ? path : `${path.slice(0, MAX_ECHOED_PATH)}…`;
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as Partial<FastifyError>).code === 'string';
}

/** The one mapping from anything thrown to the status, code and message the client sees. */
export function errorReplyFor(error: unknown, request: FastifyRequest): ErrorReply {
  if (isHttpError(error)) return { statusCode: error.statusCode, code: error.code, message: error.message };
  if (isDatabaseUnavailable(error)) {
    return { statusCode: 503, code: ErrorCode.databaseUnavailable, message: 'The database is unavailable; retry later' };
  }
  if (!isFastifyError(error)) return { statusCode: 500, code: ErrorCode.internal, message: 'Internal server error' };
  if (error.validation !== undefined) return { statusCode: 400, code: ErrorCode.validation, message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, code: ErrorCode.invalidJson, message: error.message };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        code: ErrorCode.payloadTooLarge,
        message: `Request body is larger than ${String(request.routeOptions.bodyLimit)} bytes`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        statusCode: 415,
        code: ErrorCode.unsupportedMediaType,
        message: `Content-Type ${request.headers['content-type'] ?? '(none)'} is not supported: send application/json`,
      };
    // The router's own: a path that is no valid percent-encoding, or a path segment longer than maxParamLength.
    case 'FST_ERR_BAD_URL':
      return { statusCode: 400, code: ErrorCode.badRequest, message: 'The URL path is not valid percent-encoding' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { statusCode: 414, code: ErrorCode.uriTooLong, message: `A path segment is longer than ${String(MAX_ECHOED_PATH)} characters` };
  }
  const statusCode = error.statusCode ?? 500;
  // Fastify's and plugins' 4xx messages describe the request, never internals; 5xx messages might.
  if (statusCode >= 400 && statusCode < 500) return { statusCode, code: CODE_BY_STATUS[statusCode] ?? ErrorCode.badRequest, message: error.message };
  return { statusCode: 500, code: ErrorCode.internal, message: 'Internal server error' };
}

/**
 * Router errors (bad percent-encoding, an overlong path segment) reach neither routes nor the
 * error handler: a Fastify server option hands them here, answered in the same shape.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply: FastifyReply) => {
  const failure = errorReplyFor(error, request);
  request.log.info({ code: failure.code, detail: failure.message }, 'request refused');
  void reply.code(failure.statusCode).type('application/json; charset=utf-8').send(errorBody(failure.code, failure.message));
};

/** What Node's HTTP parser refuses before Fastify sees a request, in the same JSON shape. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, ErrorCode, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, ErrorCode.requestTimeout, 'The request was not received in time'],
  HPE_HEADER_OVERFLOW: [431, ErrorCode.headersTooLarge, 'The request line and headers are too large'],
};

/** A Fastify server option: answers malformed or too slow requests with the JSON error shape, then closes. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, ErrorCode.badRequest, 'The request is not valid HTTP'];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${String(status)} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Every 4xx and 5xx reply, from any route or none, as `{"success":false,"error":{"code","message"}}`. */
export default fp(
  async (fastify) => {
    fastify.setSchemaErrorFormatter(formatValidationErrors);

    fastify.setErrorHandler(async (error, request, reply) => {
      const failure = errorReplyFor(error, request);
      if (failure.statusCode >= 500) {
        // A process still loading at start: expected, so an info line, not a warning with a stack.
        if (error instanceof NotReadyError) request.log.info({ code: failure.code, detail: failure.message }, 'not ready');
        // Else 503 means the database is away: an outage to watch, not a bug in this code.
        else if (failure.statusCode === 503) request.log.warn({ err: error }, 'database unavailable');
        else request.log.error({ err: error }, 'request failed');
      } else {
        request.log.info({ code: failure.code, detail: failure.message }, 'request refused');
      }
      if (error instanceof RateLimitedError) void reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.code(failure.statusCode).type('application/json; charset=utf-8').send(errorBody(failure.code, failure.message));
    });

    fastify.setNotFoundHandler(async (request, reply) =>
      reply.code(404).send(errorBody(ErrorCode.notFound, `No route ${request.method} ${echoedPath(request.url)}`)),
    );
  },
  { name: 'error-handler' },
);
