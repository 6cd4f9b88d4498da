import Type, { type TSchema } from 'typebox';

/** Every code an error reply of the backend can carry; the OpenAPI document lists them. */
export const ErrorCode = {
  validation: 'VALIDATION_ERROR',
  badRequest: 'BAD_REQUEST',
  invalidJson: 'INVALID_JSON',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  notFound: 'NOT_FOUND',
  auctionNotFound: 'AUCTION_NOT_FOUND',
  requestTimeout: 'REQUEST_TIMEOUT',
  uriTooLong: 'URI_TOO_LONG',
  headersTooLarge: 'HEADERS_TOO_LARGE',
  rateLimited: 'RATE_LIMITED',
  /** A snapshot whose window starts more than 5 minutes ahead of the backend's clock: worth sending again later. */
  snapshotInFuture: 'SNAPSHOT_IN_FUTURE',
  /** A snapshot that can never be stored: sending it again cannot help. */
  invalidSnapshot: 'INVALID_SNAPSHOT',
  databaseUnavailable: 'DATABASE_UNAVAILABLE',
  internal: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every error reply, everywhere: `{"success":false,"error":{"code","message"}}`. */
export const ErrorResponseSchema = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String({ description: `Stable, machine-readable error code: one of ${Object.values(ErrorCode).join(', ')}` }),
      message: Type.String({ description: 'What went wrong, for people' }),
    }),
  },
  { $id: 'ErrorResponse' },
);
export type ErrorResponse = Type.Static<typeof ErrorResponseSchema>;

/** The success envelope around a route's data. */
export function SuccessSchema<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data });
}
