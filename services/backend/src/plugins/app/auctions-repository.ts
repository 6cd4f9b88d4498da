import { ObjectId, type Collection } from 'mongodb';
import fp from 'fastify-plugin';
import type { DatabaseAvailability } from './database-availability.js';

const AUCTIONS_COLLECTION = 'auctions';

export interface AuctionDocument {
  _id: ObjectId;
  title: string;
  ownerId: string;
  enableViewerAnalytics: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AuctionsRepository {
  create(auction: Pick<AuctionDocument, 'title' | 'ownerId'>): Promise<AuctionDocument>;
  findById(id: ObjectId): Promise<AuctionDocument | null>;
  /** `enableViewerAnalytics` of each of these auctions that exists, by hex id, in one query. */
  analyticsSettings(ids: readonly ObjectId[]): Promise<Map<string, boolean>>;
  /** The auction after the change, or null when there is none. */
  setViewerAnalytics(id: ObjectId, enabled: boolean): Promise<AuctionDocument | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    auctions: AuctionsRepository;
  }
}

function auctionsRepository(collection: Collection<AuctionDocument>, { guard }: DatabaseAvailability): AuctionsRepository {
  return {
    async create({ title, ownerId }) {
      const now = new Date();
      const auction = { _id: new ObjectId(), title, ownerId, enableViewerAnalytics: false, createdAt: now, updatedAt: now };
      await guard(() => collection.insertOne(auction));
      return auction;
    },

    findById(id) {
      return guard(() => collection.findOne({ _id: id }));
    },

    async analyticsSettings(ids) {
      const settings = new Map<string, boolean>();
      const projection = { enableViewerAnalytics: 1 };
      const [only] = ids;
      if (ids.length === 1 && only !== undefined) {
        // The single-snapshot route: a key lookup. FerretDB 1.x answers `$in` by scanning the
        // collection, ~10× slower than this.
        const auction = await guard(() => collection.findOne({ _id: only }, { projection }));
        if (auction !== null) settings.set(auction._id.toHexString(), auction.enableViewerAnalytics);
        return settings;
      }
      const found = await guard(() => collection.find({ _id: { $in: [...ids] } }, { projection }).toArray());
      for (const auction of found) {
        settings.set(auction._id.toHexString(), auction.enableViewerAnalytics);
      }
      return settings;
    },

    setViewerAnalytics(id, enabled) {
      return guard(() =>
        collection.findOneAndUpdate({ _id: id }, { $set: { enableViewerAnalytics: enabled, updatedAt: new Date() } }, { returnDocument: 'after' }),
      );
    },
  };
}

/** The `auctions` collection behind a small interface; the only module that touches it. */
export default fp(
  async (fastify) => {
    const db = fastify.mongo.db;
    if (db === undefined) throw new Error('the mongodb plugin was registered without a database name');
    fastify.decorate('auctions', auctionsRepository(db.collection<AuctionDocument>(AUCTIONS_COLLECTION), fastify.databaseAvailability));
  },
  { name: 'auctions-repository', dependencies: ['mongodb', 'database-availability'] },
);
