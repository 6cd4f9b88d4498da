import { MongoServerError, ObjectId, type Collection } from 'mongodb';
import fp from 'fastify-plugin';
import { DUPLICATE_KEY } from '../../database-errors.js';
import type { DatabaseAvailability } from './database-availability.js';

const AUCTIONS_COLLECTION = 'auctions';
/** One document, `{_id: 'generation', value}`: bumped by every change of a setting, read by `_id` by every ingest. */
const SETTINGS_GENERATION_COLLECTION = 'settingsgeneration';
const GENERATION_ID = 'generation';
/** Auctions whose setting is remembered at most; the oldest remembered goes first. */
const MAX_CACHED_SETTINGS = 200_000;

interface GenerationDocument {
  _id: string;
  value: number;
}

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
  /** The auctions of `ownerId`, or every auction when undefined; newest created first. */
  list(ownerId: string | undefined): Promise<AuctionDocument[]>;
  /**
   * `enableViewerAnalytics` of each of these auctions that exists, by hex id. Exact: a change that
   * returned before this call began is seen, by every backend instance. Answered from memory
   * after one read by `_id` of the settings generation; only auctions not remembered are read.
   */
  analyticsSettings(ids: readonly ObjectId[]): Promise<Map<string, boolean>>;
  /** The auction after the change, or null when there is none. Bumps the settings generation before it returns. */
  setViewerAnalytics(id: ObjectId, enabled: boolean): Promise<AuctionDocument | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    auctions: AuctionsRepository;
  }
}

/**
 * Settings remembered for one generation. A setting read after the generation was read is at
 * least as new as every change that generation counts: a change updates its auction first and
 * bumps the generation after, and the ingest reads the generation first and the auctions after.
 * So remembered settings are right for as long as the generation stays; any change clears them.
 */
class SettingsCache {
  generation = -1;
  private readonly settings = new Map<string, boolean>();

  /** Starts over when the generation moved. */
  at(generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.settings.clear();
  }

  get(hexId: string): boolean | undefined {
    return this.settings.get(hexId);
  }

  /** Remembered only if no newer generation was seen meanwhile (a concurrent ingest may have). */
  set(generation: number, hexId: string, enabled: boolean): void {
    if (generation !== this.generation) return;
    this.settings.set(hexId, enabled);
    if (this.settings.size > MAX_CACHED_SETTINGS) {
      const oldest = this.settings.keys().next();
      if (oldest.done !== true) this.settings.delete(oldest.value);
    }
  }
}

function auctionsRepository(
  collection: Collection<AuctionDocument>,
  generations: Collection<GenerationDocument>,
  { guard }: DatabaseAvailability,
): AuctionsRepository {
  const cache = new SettingsCache();
  const projection = { enableViewerAnalytics: 1 };

  /** Settings of auctions not remembered. FerretDB 1.x answers `$in` by scanning the collection: a few key lookups are faster. */
  async function readSettings(ids: readonly ObjectId[]): Promise<Pick<AuctionDocument, '_id' | 'enableViewerAnalytics'>[]> {
    if (ids.length <= 8) {
      const found = await Promise.all(ids.map((_id) => guard(() => collection.findOne({ _id }, { projection }))));
      return found.filter((auction) => auction !== null);
    }
    return guard(() => collection.find({ _id: { $in: [...ids] } }, { projection }).toArray());
  }

  async function bumpGeneration(): Promise<void> {
    try {
      await guard(() => generations.updateOne({ _id: GENERATION_ID }, { $inc: { value: 1 } }, { upsert: true }));
    } catch (error) {
      // Two first bumps at once: both upserted, one lost the insert. The document exists now.
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
      await guard(() => generations.updateOne({ _id: GENERATION_ID }, { $inc: { value: 1 } }));
    }
  }

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

    async list(ownerId) {
      const auctions = await guard(() => collection.find(ownerId === undefined ? {} : { ownerId }).toArray());
      return auctions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()));
    },

    async analyticsSettings(ids) {
      const generation = (await guard(() => generations.findOne({ _id: GENERATION_ID })))?.value ?? 0;
      cache.at(generation);
      const settings = new Map<string, boolean>();
      const unknown: ObjectId[] = [];
      for (const id of ids) {
        const hexId = id.toHexString();
        const enabled = cache.get(hexId);
        if (enabled === undefined) unknown.push(id);
        else settings.set(hexId, enabled);
      }
      if (unknown.length === 0) return settings;
      for (const auction of await readSettings(unknown)) {
        const hexId = auction._id.toHexString();
        settings.set(hexId, auction.enableViewerAnalytics);
        cache.set(generation, hexId, auction.enableViewerAnalytics);
      }
      return settings;
    },

    async setViewerAnalytics(id, enabled) {
      const updated = await guard(() =>
        collection.findOneAndUpdate({ _id: id }, { $set: { enableViewerAnalytics: enabled, updatedAt: new Date() } }, { returnDocument: 'after' }),
      );
      // After the auction, before the reply: every ingest that starts later sees a new generation.
      await bumpGeneration();
      return updated;
    },
  };
}

/** The `auctions` collection behind a small interface; the only module that touches it. */
export default fp(
  async (fastify) => {
    const db = fastify.mongo.db;
    if (db === undefined) throw new Error('the mongodb plugin was registered without a database name');
    fastify.decorate(
      'auctions',
      auctionsRepository(
        db.collection<AuctionDocument>(AUCTIONS_COLLECTION),
        db.collection<GenerationDocument>(SETTINGS_GENERATION_COLLECTION),
        fastify.databaseAvailability,
      ),
    );
  },
  { name: 'auctions-repository', dependencies: ['mongodb', 'database-availability'] },
);
