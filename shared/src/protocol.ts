/** Contracts between the socket server, the backend and browsers that are not JSON bodies. */

/** Header that carries the shared internal API key from the socket server to the backend. */
export const INTERNAL_API_KEY_HEADER = 'x-internal-api-key';
/** The shortest internal API key the services accept in production. */
export const MIN_INTERNAL_API_KEY_LENGTH = 32;

/** Server → client frame of the live feed (JSON text). */
export interface ViewerCountUpdate {
  readonly type: 'viewerCountUpdate';
  readonly auctionId: string;
  readonly count: number;
  readonly at: string;
}

/** WebSocket close codes of the live feed. */
export const CloseCode = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
  malformedAuctionId: 4400,
  /** `?viewer=` empty, longer than 128 characters or not printable ASCII: the same "bad request" as a malformed id. */
  malformedViewerId: 4400,
  unknownAuction: 4404,
} as const;

export function liveFeedPath(auctionId: string): string {
  return `/auctions/${auctionId}/live`;
}
