import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { MongoNetworkError, MongoNotConnectedError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { ErrorCode } from '@viewer-analytics/shared';
import { errorBody, HttpError } from '../../http-error.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks the snapshot ingest routes: errors there are counted and logged as rejected snapshot requests. */
    snapshotIngest?: true;
  }
}

/** Fastify declares this type but does not export it. */
type SchemaErrorFormatter = Parameters<FastifyInstance['setSchemaErrorFormatter']>[0];

interface ErrorReply {
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

const DATABASE_UNAVAILABLE = [MongoServerSelectionError, MongoNetworkError, MongoNotConnectedError, MongoTopologyClosedError];

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as Partial<FastifyError>).code === 'string';
}

/** The one mapping from anything thrown to the status, code and message the client sees. */
function toErrorReply(error: unknown, request: FastifyRequest): ErrorReply {
  if (error instanceof HttpError) return error;
  if (DATABASE_UNAVAILABLE.some((type) => error instanceof type)) {
    return { statusCode: 503, code: ErrorCode.unavailable, message: 'The database is unavailable; retry later' };
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
  }
  const statusCode = error.statusCode ?? 500;
  // Fastify's own 4xx messages describe the request, never internals; 5xx messages might.
  if (statusCode >= 400 && statusCode < 500) return { statusCode, code: ErrorCode.badRequest, message: error.message };
  return { statusCode: 500, code: ErrorCode.internal, message: 'Internal server error' };
}

/** Every 4xx and 5xx reply, from any route or none, as `{"success":false,"error":{"code","message"}}`. */
export default fp(
  async (fastify) => {
    fastify.setSchemaErrorFormatter(formatValidationErrors);

    fastify.setErrorHandler(async (error, request, reply) => {
      const failure = toErrorReply(error, request);
      if (failure.statusCode >= 500) {
        // 503 means the database is away: an outage to watch, not a bug in this code.
        if (failure.statusCode === 503) request.log.warn({ err: error }, 'database unavailable');
        else request.log.error({ err: error }, 'request failed');
      } else if (request.routeOptions.config.snapshotIngest === true) {
        const reason = failure.code.toLowerCase();
        fastify.metrics.snapshotRequestRejected(reason);
        request.log.warn({ reason, detail: failure.message }, 'snapshot request rejected');
      } else {
        request.log.info({ code: failure.code, detail: failure.message }, 'request refused');
      }
      return reply.code(failure.statusCode).type('application/json; charset=utf-8').send(errorBody(failure.code, failure.message));
    });

    fastify.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?', 1)[0] ?? '';
      return reply.code(404).send(errorBody(ErrorCode.notFound, `No route ${request.method} ${path}`));
    });
  },
  { name: 'error-handler', dependencies: ['metrics'] },
);
