import { isIP } from 'node:net';

/** Longest `?viewer=` id accepted (an embedding site's own id: a UUID, a hash…). */
export const MAX_VIEWER_ID_LENGTH = 128;
const VIEWER_ID = /^[!-~]+$/;

/** What identifies a viewer at the upgrade, copied out of the request before anything else runs. */
export interface UpgradeIdentity {
  /** The `?viewer=` value (decoded), or null when the URL has none. */
  readonly viewerParam: string | null;
  /** The socket's peer address, as text. */
  readonly peer: string;
  readonly forwardedFor: string;
  readonly userAgent: string;
}

/**
 * The identity hashed into a visitor key: the embedding site's `?viewer=` id when given, else the
 * client's IP and User-Agent; undefined for a `?viewer=` that is empty, too long or not printable
 * ASCII (the connection is refused). Prefixed by kind so that an id never equals an IP pair.
 */
export function visitorIdentity(upgrade: UpgradeIdentity, trustedProxyHops: number): string | undefined {
  const { viewerParam } = upgrade;
  if (viewerParam !== null) {
    if (viewerParam.length > MAX_VIEWER_ID_LENGTH || !VIEWER_ID.test(viewerParam)) return undefined;
    return `v:${viewerParam}`;
  }
  return `a:${clientIp(upgrade.peer, upgrade.forwardedFor, trustedProxyHops)}\n${upgrade.userAgent}`;
}

/**
 * The client's IP: the peer address, or behind `trustedHops` proxies of our own the address the
 * outermost of them saw, which is the `trustedHops`-th entry of X-Forwarded-For from the right
 * (each proxy appends the address it was connected from). Entries further left were written by the
 * client and are never used; a header too short or whose entry is no IP falls back to the peer.
 */
export function clientIp(peer: string, forwardedFor: string, trustedHops: number): string {
  if (trustedHops === 0 || forwardedFor === '') return peer;
  const hops = forwardedFor.split(',');
  if (hops.length < trustedHops) return peer;
  const candidate = (hops[hops.length - trustedHops] ?? '').trim();
  return isIP(candidate) === 0 ? peer : candidate;
}

/** The viewer id of a query string (`a=1&viewer=x`), or null when it has none (uWS gives undefined for no query at all). */
export function viewerParamOf(query: string | undefined): string | null {
  if (query === undefined || !query.includes('viewer')) return null;
  return new URLSearchParams(query).get('viewer');
}
