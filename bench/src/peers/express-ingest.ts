/**
 * Reference peer: the snapshot ingest endpoints (docs/internal-api.md) with Express 5 and Mongoose 9, the
 * way their guides show it — `express.json()`, a key-checking middleware, async handlers, a
 * Mongoose schema whose validators check types and ranges (plus the shared min ≤ avg ≤ peak
 * rules), `findById(...).lean()` / `find({_id: {$in}}).lean()` for the auctions, `save()` for one
 * snapshot and `insertMany(..., { ordered: false })` for a batch, on the same `vieweranalytics`
 * collection layout with the same unique `{auction, timestamp}` index. Replies have the same
 * shapes and status codes as our backend's.
 *
 * Run: PORT=… MONGODB_URI=… MONGODB_DATABASE=… INTERNAL_API_KEY=… node bench/dist/peers/express-ingest.js
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import mongoose, { Schema, type HydratedDocument } from 'mongoose';
import { INTERNAL_API_KEY_HEADER, MAX_BATCH_SNAPSHOTS, OBJECT_ID_PATTERN, snapshotInvariantViolation } from '@viewer-analytics/shared';

const env = {
  port: Number(process.env['PORT'] ?? 8092),
  host: process.env['HOST'] ?? '127.0.0.1',
  uri: requireEnv('MONGODB_URI'),
  database: requireEnv('MONGODB_DATABASE'),
  internalKey: requireEnv('INTERNAL_API_KEY'),
  retentionDays: Number(process.env['RETENTION_DAYS'] ?? 90),
};

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   Mongoose schemas are declared with plain option objects (its documented style), which its
   typings name as the SchemaTypeOptions class. */
interface AuctionFields {
  title: string;
  ownerId: string;
  enableViewerAnalytics: boolean;
}
const Auction = mongoose.model<AuctionFields>(
  'Auction',
  new Schema<AuctionFields>(
    { title: String, ownerId: String, enableViewerAnalytics: { type: Boolean, default: false } },
    { timestamps: true, collection: 'auctions' },
  ),
);

interface SnapshotFields {
  auction: mongoose.Types.ObjectId;
  timestamp: Date;
  viewerCount: number;
  avgViewers: number;
  peakViewers: number;
  minViewers: number;
  sampleCount: number;
}
const integer = { validator: Number.isInteger, message: '{PATH} must be an integer' };
const count = { type: Number, required: true, min: 0, validate: integer };
const snapshotSchema = new Schema<SnapshotFields>(
  {
    auction: { type: Schema.Types.ObjectId, ref: 'Auction', required: true },
    timestamp: { type: Date, required: true },
    viewerCount: count,
    avgViewers: { type: Number, required: true, min: 0 },
    peakViewers: count,
    minViewers: count,
    sampleCount: { type: Number, required: true, min: 1, max: 12, validate: integer },
  },
  { timestamps: true, versionKey: false, collection: 'vieweranalytics' },
);
snapshotSchema.index({ auction: 1, timestamp: 1 }, { unique: true });
const ViewerAnalytics = mongoose.model<SnapshotFields>('ViewerAnalytics', snapshotSchema);
type SnapshotDocument = HydratedDocument<SnapshotFields>;
/* eslint-enable @typescript-eslint/no-unsafe-class-instance-assignment */

const DUPLICATE_KEY = 11000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Casts and validates one snapshot (Mongoose validators, then the cross-field rules); 400 naming the field. */
async function snapshotDocument(input: unknown, auctionId: string, path: string): Promise<SnapshotDocument> {
  if (typeof input !== 'object' || input === null) throw new HttpError(400, 'VALIDATION_ERROR', `${path} must be an object`);
  const body = input as Record<string, unknown>;
  const doc = new ViewerAnalytics({
    auction: auctionId,
    timestamp: body['timestamp'],
    viewerCount: body['viewerCount'],
    avgViewers: body['avgViewers'],
    peakViewers: body['peakViewers'],
    minViewers: body['minViewers'],
    sampleCount: body['sampleCount'],
  });
  try {
    await doc.validate();
  } catch (error) {
    if (!(error instanceof mongoose.Error.ValidationError)) throw error;
    const [field, cause] = Object.entries(error.errors)[0] ?? ['', error];
    throw new HttpError(400, 'VALIDATION_ERROR', `${path}/${field}: ${cause.message}`);
  }
  const violation = snapshotInvariantViolation({ ...doc.toObject(), timestamp: doc.timestamp.toISOString() }, Date.now());
  if (violation !== undefined) throw new HttpError(400, 'VALIDATION_ERROR', `${path}/${violation.field}: ${violation.message}`);
  return doc;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof mongoose.mongo.MongoServerError && error.code === DUPLICATE_KEY;
}

const expectedKey = createHash('sha256').update(env.internalKey).digest();
function requireInternalKey(req: Request, _res: Response, next: NextFunction): void {
  const sent = req.headers[INTERNAL_API_KEY_HEADER];
  if (typeof sent !== 'string' || !timingSafeEqual(createHash('sha256').update(sent).digest(), expectedKey)) {
    next(new HttpError(401, 'UNAUTHORIZED', `missing or wrong ${INTERNAL_API_KEY_HEADER} header`));
    return;
  }
  next();
}

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '2mb' }));

app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post('/api/v1/auctions/:id/analytics/snapshot', requireInternalKey, async (req: Request<{ id: string }>, res: Response) => {
  const { id } = req.params;
  if (!OBJECT_ID_PATTERN.test(id)) throw new HttpError(400, 'VALIDATION_ERROR', 'params/id must be a 24-hex ObjectId');
  const doc = await snapshotDocument(req.body, id.toLowerCase(), 'body');
  const auction = await Auction.findById(id, { enableViewerAnalytics: 1 }).lean();
  if (auction === null) throw new HttpError(404, 'AUCTION_NOT_FOUND', `auction ${id} not found`);
  if (!auction.enableViewerAnalytics) {
    res.status(200).json({ success: true, data: { stored: false, reason: 'analytics_disabled' } });
    return;
  }
  try {
    await doc.save({ validateBeforeSave: false }); // validated above
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    res.status(200).json({ success: true, data: { stored: false, reason: 'duplicate' } });
    return;
  }
  res.status(201).json({ success: true, data: { stored: true } });
});

app.post('/api/v1/analytics/snapshots', requireInternalKey, async (req: Request, res: Response) => {
  const items: unknown = (req.body as { snapshots?: unknown } | undefined)?.snapshots;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH_SNAPSHOTS) {
    throw new HttpError(400, 'VALIDATION_ERROR', `body/snapshots must hold 1 to ${MAX_BATCH_SNAPSHOTS} items`);
  }
  // Every item is checked before anything is stored: one invalid item refuses the batch.
  const docs = await Promise.all(
    items.map((item: unknown, index) => {
      const auctionId = (item as { auctionId?: unknown } | null)?.auctionId;
      if (typeof auctionId !== 'string' || !OBJECT_ID_PATTERN.test(auctionId)) {
        throw new HttpError(400, 'VALIDATION_ERROR', `body/snapshots/${index}/auctionId must be a 24-hex ObjectId`);
      }
      return snapshotDocument(item, auctionId.toLowerCase(), `body/snapshots/${index}`);
    }),
  );

  const ids = [...new Set(docs.map((doc) => doc.auction.toHexString()))];
  const auctions = await Auction.find({ _id: { $in: ids } }, { enableViewerAnalytics: 1 }).lean();
  const enabled = new Map(auctions.map((auction) => [auction._id.toHexString(), auction.enableViewerAnalytics]));
  const now = new Date();
  const toInsert: (SnapshotFields & { createdAt: Date; updatedAt: Date })[] = [];
  let disabled = 0;
  let unknown = 0;
  for (const doc of docs) {
    const analytics = enabled.get(doc.auction.toHexString());
    if (analytics === undefined) unknown++;
    else if (!analytics) disabled++;
    else toInsert.push({ ...doc.toObject(), createdAt: now, updatedAt: now });
  }

  let stored = 0;
  let duplicates = 0;
  if (toInsert.length > 0) {
    try {
      // Already cast and validated: `lean` skips doing it twice (Mongoose's insertMany docs).
      const inserted = await ViewerAnalytics.insertMany(toInsert, { ordered: false, lean: true });
      stored = inserted.length;
    } catch (error) {
      if (!(error instanceof mongoose.mongo.MongoBulkWriteError)) throw error;
      const writeErrors = [error.writeErrors].flat();
      if (!writeErrors.every((writeError) => writeError.code === DUPLICATE_KEY)) throw error;
      stored = error.insertedCount;
      duplicates = writeErrors.length;
    }
  }
  res.status(200).json({ success: true, data: { stored, duplicates, disabled, unknown } });
});

app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  if (error instanceof HttpError) {
    res.status(error.status).json({ success: false, error: { code: error.code, message: error.message } });
    return;
  }
  const status = (error as { status?: unknown }).status; // body-parser's 400/413
  if (typeof status === 'number' && status >= 400 && status < 500) {
    res.status(status).json({ success: false, error: { code: 'BAD_REQUEST', message: (error as Error).message } });
    return;
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  res.status(500).json({ success: false, error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
});

await mongoose.connect(env.uri, { dbName: env.database, autoIndex: false, serverSelectionTimeoutMS: 5_000, appName: 'bench-express-peer' });
// Mongoose's advice for production: build indexes explicitly, not from autoIndex.
await ViewerAnalytics.createIndexes();
// The retention index our backend makes: TTL where the server has them, none where it has not
// (FerretDB 1.x, where it would serve no query), so that both insert the same index entries.
try {
  await ViewerAnalytics.collection.createIndex({ createdAt: 1 }, { name: 'createdAt_1', expireAfterSeconds: env.retentionDays * 86_400 }, undefined);
} catch (error) {
  // No TTL indexes on this server (CommandNotSupported, NotImplemented: what our backend accepts too): nothing to create.
  if (!(error instanceof mongoose.mongo.MongoServerError) || (error.code !== 115 && error.code !== 238)) throw error;
}

const server = app.listen(env.port, env.host, () => {
  process.stdout.write(`Express + Mongoose peer listening on ${env.host}:${env.port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void mongoose.disconnect().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
