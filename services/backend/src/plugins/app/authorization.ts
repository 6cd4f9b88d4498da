import { ObjectId } from 'mongodb';
import fp from 'fastify-plugin';
import { ADMIN_ROLE, type TokenClaims } from '@viewer-analytics/shared';
import { AuctionNotFoundError, ForbiddenError } from '../../http-error.js';
import type { AuctionDocument } from './auctions-repository.js';

/** Who may do what to auctions: an admin anything, anyone else only to the auctions it owns. */
export interface Authorization {
  /** The auction, if it exists (else 404) and the user may reach it (else 403). */
  auctionFor(user: TokenClaims, auctionId: string): Promise<AuctionDocument>;
  /** The owner of an auction the user creates: itself, or anyone an admin names (else 403). */
  ownerOfNewAuction(user: TokenClaims, requestedOwnerId: string | undefined): string;
  /**
   * Whose auctions a view over many covers: the user's own; an admin's every owner's
   * (undefined) or the one it names. Anyone else naming another owner: 403.
   */
  ownerScope(user: TokenClaims, requestedOwnerId: string | undefined): string | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    authorization: Authorization;
  }
}

export default fp(
  async (fastify) => {
    const isAdmin = (user: TokenClaims): boolean => user.role === ADMIN_ROLE;
    fastify.decorate('authorization', {
      async auctionFor(user, auctionId) {
        const auction = await fastify.auctions.findById(new ObjectId(auctionId));
        if (auction === null) throw new AuctionNotFoundError(auctionId);
        if (!isAdmin(user) && auction.ownerId !== user.sub) throw new ForbiddenError(`auction ${auctionId} belongs to someone else`);
        return auction;
      },

      ownerOfNewAuction(user, requestedOwnerId) {
        if (requestedOwnerId === undefined || requestedOwnerId === user.sub) return user.sub;
        if (!isAdmin(user)) throw new ForbiddenError('only an admin may create an auction for another owner');
        return requestedOwnerId;
      },

      ownerScope(user, requestedOwnerId) {
        if (isAdmin(user)) return requestedOwnerId;
        if (requestedOwnerId !== undefined && requestedOwnerId !== user.sub) throw new ForbiddenError("only an admin may see another owner's auctions");
        return user.sub;
      },
    } satisfies Authorization);
  },
  { name: 'authorization', dependencies: ['authentication', 'auctions-repository'] },
);
