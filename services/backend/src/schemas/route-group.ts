import type { onRouteHookHandler } from 'fastify';
import { errorResponses } from './error-responses.js';

/** Security scheme names of the OpenAPI document, as the route groups refer to them. */
export const SECURITY = { bearer: 'bearerAuth', internalKey: 'internalApiKey' } as const;

export interface RouteGroupDocs {
  /** The Swagger UI section of the group's operations. */
  readonly tag: string;
  /** The scheme the group's guard checks; none for a public group. */
  readonly security?: (typeof SECURITY)[keyof typeof SECURITY];
  /** Error statuses every route of the group may answer, whatever the route: its guard's and the server's. */
  readonly errors?: readonly number[];
}

/**
 * An onRoute hook of a route group: every route added to the group is documented with the
 * group's tag, security scheme and error replies, so that no route repeats them. A route's own
 * response schemas win over the group's for the same status.
 */
export function documentRouteGroup({ tag, security, errors = [] }: RouteGroupDocs): onRouteHookHandler {
  return (route) => {
    const schema = route.schema ?? {};
    // Fastify types a route's response schemas as unknown; ours are always an object by status.
    const own = (schema.response ?? {}) as Record<string, unknown>;
    route.schema = {
      ...schema,
      tags: [tag],
      ...(security === undefined ? {} : { security: [{ [security]: [] }] }),
      response: { ...errorResponses(...errors), ...own },
    };
  };
}
