import { ErrorResponseSchema } from '@viewer-analytics/shared';

type ErrorResponses<S extends number> = { [K in S]: typeof ErrorResponseSchema };

/** Response schemas for the error statuses a route can answer: every status gets a documented schema. */
export function errorResponses<const S extends number>(...statuses: readonly S[]): ErrorResponses<S> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema])) as ErrorResponses<S>;
}

/** Any route: a bug or a database that went away. */
export const SERVER_ERRORS = [500, 503] as const;
/** Routes that take a JSON body: invalid, too large, or not JSON. */
export const BODY_ERRORS = [400, 413, 415] as const;
