import { ObjectId, type Collection } from 'mongodb';
import fp from 'fastify-plugin';
import type { FastifyBaseLogger } from 'fastify';
import { boundedMap } from '../../bounded-map.js';
import { SettingsMemory, type SettingsLogDocument } from '../../settings-memory.js';
import { startUpLoad } from '../../start-up-load.js';
import type { DatabaseAvailability } from './database-availability.js';

const AUCTIONS_COLLECTION = 'auctions';
const SETTINGS_LOG_COLLECTION = 'settingschanges';
/** Auctions whose setting is remembered at most; the one remembered longest goes first. */
const MAX_REMEMBERED_SETTINGS = 200_000;
/** Auctions not remembered are read by `_id`, this many at once: FerretDB 1.x answers `$in` by scanning the collection. */
const POINT_READS_AT_ONCE = 32;

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
  /** Whether the auction exists: from memory when its setting is remembered (auctions are never deleted), else read by `_id`. */
  exists(id: ObjectId): Promise<boolean>;
  /** The auctions of `ownerId`, or every auction when undefined; newest created first. */
  list(ownerId: string | undefined): Promise<AuctionDocument[]>;
  /**
   * `enableViewerAnalytics` of each of these auctions that exists, by hex id. Exact: a change that
   * returned before this call began is seen, by every backend instance. Answered from memory
   * after one read by `_id` of the settings log; only auctions not remembered are read, by `_id`.
   */
  analyticsSettings(ids: readonly ObjectId[]): Promise<Map<string, boolean>>;
  /** The auction after the change, or null when there is none. Announces the change in the log, makes it, and logs it before it returns. */
  setViewerAnalytics(id: ObjectId, enabled: boolean): Promise<AuctionDocument | null>;
  /** Whether every auction's setting has been loaded at start; while a failed load is retried, reads take what they need. */
  warmedUp(): boolean;
  /** Stops retrying the load at start and failed appends to the settings log (after a last try). */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    auctions: AuctionsRepository;
  }
}

function auctionsRepository(
  collection: Collection<AuctionDocument>,
  log: Collection<SettingsLogDocument>,
  { guard, guardIterable }: DatabaseAvailability,
  logger: FastifyBaseLogger,
): AuctionsRepository {
  const memory = new SettingsMemory(log, guard, {
    maxRemembered: MAX_REMEMBERED_SETTINGS,
    onAppendFailed: (changes, retryInMs, error) => {
      logger.warn({ err: error, changes, retryInMs }, 'appending setting changes to the log failed: tried again until it succeeds (other instances read their announcements and take those auctions from the database meanwhile)');
    },
  });
  const projection = { enableViewerAnalytics: 1 } as const;

  /** Every auction's setting, once at start, so that the ingest reads none by itself. */
  const loaded = startUpLoad(
    logger,
    'analytics settings',
    async () => {
      const head = await memory.start();
      const cursor = collection.find({}, { projection }).limit(MAX_REMEMBERED_SETTINGS);
      for await (const auction of guardIterable(cursor)) memory.remember(head, auction._id.toHexString(), auction.enableViewerAnalytics);
      return { auctions: memory.size };
    },
    'the ingest reads the settings it needs',
  );

  /** Settings of auctions not remembered, by `_id`, a few at a time. */
  async function readSettings(ids: readonly ObjectId[]): Promise<Pick<AuctionDocument, '_id' | 'enableViewerAnalytics'>[]> {
    const found = await boundedMap(ids, POINT_READS_AT_ONCE, (_id) => guard(() => collection.findOne({ _id }, { projection })));
    return found.filter((auction) => auction !== null);
  }

  return {
    async create({ title, ownerId }) {
      const now = new Date();
      const auction = { _id: new ObjectId(), title, ownerId, enableViewerAnalytics: false, createdAt: now, updatedAt: now };
      const head = memory.applied;
      await guard(() => collection.insertOne(auction));
      memory.remember(head, auction._id.toHexString(), false);
      return auction;
    },

    findById(id) {
      return guard(() => collection.findOne({ _id: id }));
    },

    async exists(id) {
      if (memory.get(id.toHexString()) !== undefined) return true;
      const head = memory.applied;
      const auction = await guard(() => collection.findOne({ _id: id }, { projection }));
      if (auction === null) return false;
      memory.remember(head, auction._id.toHexString(), auction.enableViewerAnalytics);
      return true;
    },

    async list(ownerId) {
      const auctions = await guard(() => collection.find(ownerId === undefined ? {} : { ownerId }).toArray());
      return auctions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()));
    },

    async analyticsSettings(ids) {
      // A request that comes while they load (a process that takes traffic before /ready) waits rather than read them one by one.
      await loaded.done;
      const head = await memory.catchUp();
      const settings = new Map<string, boolean>();
      const unknown: ObjectId[] = [];
      for (const id of ids) {
        const hexId = id.toHexString();
        const enabled = memory.get(hexId);
        if (enabled === undefined) unknown.push(id);
        else settings.set(hexId, enabled);
      }
      if (unknown.length === 0) return settings;
      for (const auction of await readSettings(unknown)) {
        const hexId = auction._id.toHexString();
        settings.set(hexId, auction.enableViewerAnalytics);
        memory.remember(head, hexId, auction.enableViewerAnalytics);
      }
      return settings;
    },

    async setViewerAnalytics(id, enabled) {
      // Announced first: should this process die before it logs the change, the instances that
      // read the announcement still take this auction's setting from the database for a while.
      const announcement = await memory.upcoming(id);
      const updated = await guard(() =>
        collection.findOneAndUpdate({ _id: id }, { $set: { enableViewerAnalytics: enabled, updatedAt: new Date() } }, { returnDocument: 'after' }),
      );
      // After the auction, before the reply: every ingest that starts later reads this change.
      if (updated !== null) await memory.append(id, announcement);
      return updated;
    },

    warmedUp: loaded.loaded,

    async close() {
      await loaded.stop();
      const unlogged = await memory.stop();
      if (unlogged > 0) {
        // Made, announced, not logged: readers of the announcements take those auctions from the database for UPCOMING_CHANGE_MS.
        logger.warn({ changes: unlogged }, 'setting changes left out of the log at shutdown: other instances apply them through their announcements');
      }
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
        db.collection<SettingsLogDocument>(SETTINGS_LOG_COLLECTION),
        fastify.databaseAvailability,
        fastify.log,
      ),
    );
    fastify.addHook('onClose', () => fastify.auctions.close());
  },
  { name: 'auctions-repository', dependencies: ['mongodb', 'database-availability'] },
);
