import Type, { type TSchema } from 'typebox';

/** Every error reply, everywhere: `{"success":false,"error":{"code","message"}}`. */
export const ErrorResponseSchema = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String({ description: 'Stable, machine-readable error code, e.g. AUCTION_NOT_FOUND' }),
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
  unavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
