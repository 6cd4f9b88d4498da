import { randomBytes } from 'node:crypto';
import { Binary, MongoServerError, type Collection, type Filter, type ObjectId, type WithoutId } from 'mongodb';
import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import { VisitorSketch } from '@viewer-analytics/shared';
import { HOUR_MS, HOUR_QUARTERS, HourFigures, QUARTER_FIGURES, firstStartIn, startsBytes, type HourSlice } from '../../analytics/hour-figures.js';
import { collect, RangeSummary, windowSketch, type SeriesWindow } from '../../analytics/range-summary.js';
import { windowMs as windowLength, type BackendConfig } from '../../config.js';
import { DUPLICATE_KEY, onlyDuplicateKeys } from '../../database-errors.js';
import { createRetentionIndex, purgeInChunks, type RetentionIndex } from '../../database-retention.js';
import { startUpLoad } from '../../start-up-load.js';
import type { DatabaseAvailability } from './database-availability.js';
import type { SnapshotDocument, ViewerAnalyticsRepository } from './viewer-analytics-repository.js';

/*
 * Reads of many auctions over long ranges (the owner's overview and heatmap) without scanning the
 * snapshot collection, which FerretDB 1.x does for any query but a lookup by _id.
 *
 * - Marks: the ingest marks an auction-hour the first time this process stores a window of it, and
 *   again whenever it stores a window of an hour already settled (a late snapshot, after an
 *   outage). One document per hour and ingest request lists the auctions it marks, so a flush of
 *   10,000 auctions in a new hour inserts two marks, not 10,000. Each process keeps every mark in
 *   memory (its own as it inserts them, the others' read again in the background at most every
 *   MARKS_FRESH_MS, only the newer ones), since FerretDB reads the whole collection for any query
 *   of them.
 * - Hours: an auction-hour's windows copied into one document keyed `<auction hex>:<hour start>`,
 *   written by the first read that needs a settled hour, and used while no mark of the hour is
 *   newer than the copy. Hours not settled yet are read from the snapshots by key, each window once.
 * - Figures: the hour's HourFigures, stored with its copy under the same key and trusted like it:
 *   what the overview, the heatmap and long charts read of a whole settled hour (small: read all
 *   in one query, and loaded into memory when the process starts).
 *
 * Only inserts and whole-document replaces: FerretDB 1.x loses concurrent updates of one document
 * ($inc or $set from several clients at once: 200 concurrent $inc left 103), so no counter is kept.
 */

/** An hour is copied once this long past its end: the socket server flushes its last windows within seconds. */
export const HOUR_SETTLED_MS = 2 * 60_000;
/** Clock difference between backend processes that marks and copies tolerate (they compare their clocks). */
const CLOCK_SKEW_MS = 2_000;
/** Auction-hours this process remembers having marked; one forgotten costs one more mark. */
const MAX_REMEMBERED = 200_000;
/** Missing hours are copied with lookups by key while they hold at most this many windows; beyond, in one pass over the collection. */
export const KEYED_COPY_WINDOWS = 3_000;
/** Hour copies this process keeps in memory at most (about 60 windows each). */
const MAX_REMEMBERED_COPIES = 20_000;
/** Late snapshots' hours are copied once none has come for this long. */
export const COPY_AFTER_QUIET_MS = 3_000;
/** Marks read this recently serve as they are; older ones serve while newer are read in the background. */
const MARKS_FRESH_MS = 5_000;
/** Marks read longer ago than this are read again before a read answers (another process's new hours are seen within this time). */
const MARKS_STALE_MS = 60_000;
/**
 * A newer read asks for the marks from this long before the previous read began: marks whose insert
 * returned after it began, or was held up (a slow database) that long after their `at`, with the
 * skew of their process's clock.
 */
const MARKS_OVERLAP_MS = 10 * 60_000;
/**
 * A mark outlives the snapshots' retention by this much: the windows it stands for were stored
 * from its `at` until the hour settled (another mark comes for any later one).
 */
const MARK_RETENTION_EXTRA_MS = 2 * HOUR_MS;

export const MARKS_COLLECTION = 'viewerhourmarks';
export const HOURS_COLLECTION = 'viewerhours';
export const FIGURES_COLLECTION = 'viewerhourfigures';
/**
 * Replacements per update command. FerretDB 1.24 keeps the read of each document an update command
 * replaces open, on one of its 100 SQLite connections per database, until the whole command ends:
 * a command that replaces 100 stored documents waits for a connection forever, and every client
 * of the database with it (seen when the hours of late snapshots were copied again).
 */
const REPLACES_PER_COMMAND = 25;
/** Up to this many hours' figures are asked for by key ($in); beyond, by their hours' range (FerretDB compares every id of an $in with every document). */
const FIGURES_BY_KEY = 2_000;

interface MarkDocument {
  _id: string;
  /** The auctions marked in this hour (absent from an earlier version's marks, which name one `auction`). */
  auctions?: ObjectId[];
  auction?: ObjectId;
  hour: Date;
  /** When the ingest finished storing the windows it marks (after the snapshots were written). */
  at: Date;
}

/** A window in an hour document: short names, the start as an offset into the hour. */
interface CopiedWindow {
  t: number;
  c: number;
  a: number;
  p: number;
  m: number;
  s: number;
  u?: number;
  v?: Binary;
}

interface HourDocument {
  _id: string;
  auction: ObjectId;
  hour: Date;
  /** When the reads of the copy began: windows stored before then are in it. */
  copiedAt: Date;
  windows: CopiedWindow[];
}

/** The figures of a copy (HourFigures), stored beside it under the same key: all the overview, heatmap and long charts read of a whole settled hour. */
interface FiguresDocument {
  _id: string;
  auction: ObjectId;
  hour: Date;
  /** The copiedAt of the copy they were taken from. */
  copiedAt: Date;
  /** RangeSummary.state(), times in ms since the epoch. */
  n: number;
  p: number;
  pt: number | null;
  m: number;
  w: number;
  s: number;
  f: number | null;
  l: number | null;
  v?: Binary;
  /** HourFigures.quarters. */
  q: number[];
  /** HourFigures.visitors, each quarter's sketch or null. The three below are absent from figures stored by older versions. */
  qv?: (Binary | null)[];
  /** HourFigures.starts. */
  o?: Binary;
  /** The window length the starts count in. */
  wl?: number;
}

export interface HourRange {
  readonly since: Date;
  readonly until: Date;
}

export interface ViewerHours {
  /** False until the process has loaded the marks and figures at start (readiness waits for it); while a failed load is retried, reads load what they need. */
  warmedUp(): boolean;
  /** Waits for the copying of late snapshots' hours under way; what is due but not started is dropped. */
  close(): Promise<void>;
  /** Marks the auction-hours of snapshots the ingest has just stored, or found stored already (a retry); `doneAt` is when that write returned. */
  noteStored(snapshots: readonly SnapshotDocument[], doneAt: number): Promise<void>;
  /** The windows of these auctions (every auction when null) that start within the range (bounds included), by auction hex id, oldest first. */
  windows(auctions: readonly ObjectId[] | null, range: HourRange): Promise<Map<string, SeriesWindow[]>>;
  /** The same hours as slices, by auction hex id, oldest first: a settled hour wholly within the range by its figures, any other by its windows there. */
  slices(auctions: readonly ObjectId[] | null, range: HourRange): Promise<Map<string, HourSlice[]>>;
  /** TTL indexes that expire the marks and copies with the snapshots where the server has them; 'purge' where not (then purgeExpired does it). */
  ensureRetention(): Promise<RetentionIndex>;
  /** Deletes the marks whose snapshots have all expired and the copies of hours past retention; returns how many. */
  purgeExpired(): Promise<number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    viewerHours: ViewerHours;
  }
}

const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
const keyOf = (hex: string, hour: number): string => `${hex}:${String(hour)}`;
const settled = (hour: number, at: number): boolean => at >= hour + HOUR_MS + HOUR_SETTLED_MS;

/** A window read from the snapshots (its sketch the stored Binary) as its hour's copy holds it. */
function copy(window: SeriesWindow, hour: number): CopiedWindow {
  return {
    t: window.timestamp.getTime() - hour,
    c: window.viewerCount,
    a: window.avgViewers,
    p: window.peakViewers,
    m: window.minViewers,
    s: window.sampleCount,
    ...(window.uniqueViewers === undefined ? {} : { u: window.uniqueViewers }),
    ...(window.visitors === undefined ? {} : { v: window.visitors as Binary }),
  };
}

/** A window as kept in memory: its sketch decoded once rather than at every read that merges it. */
function uncopy(window: CopiedWindow, hour: number): SeriesWindow {
  return {
    timestamp: new Date(hour + window.t),
    viewerCount: window.c,
    avgViewers: window.a,
    peakViewers: window.p,
    minViewers: window.m,
    sampleCount: window.s,
    ...(window.u === undefined ? {} : { uniqueViewers: window.u }),
    ...(window.v === undefined ? {} : { visitors: VisitorSketch.fromBytes(window.v.value()) }),
  };
}

/** A window read from the snapshots as kept in memory: its sketch decoded once. */
function decoded(window: SeriesWindow): SeriesWindow {
  const sketch = windowSketch(window);
  return sketch === null ? window : { ...window, visitors: sketch };
}

/** Sets `key` in `held` as its newest entry, first forgetting the oldest when `limit` are held. */
export function keep<T>(held: Map<string, T>, key: string, value: T, limit = MAX_REMEMBERED_COPIES): T {
  held.delete(key);
  if (held.size >= limit) {
    const oldest = held.keys().next();
    if (oldest.done !== true) held.delete(oldest.value);
  }
  held.set(key, value);
  return value;
}

/** The earliest and latest of these hours (at least one): a loop, as spreading 100,000 of them into Math.min overflows the stack. */
export function hourSpan(hours: readonly number[]): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const hour of hours) {
    if (hour < first) first = hour;
    if (hour > last) last = hour;
  }
  return { first, last };
}

interface CachedHour {
  readonly hour: number;
  readonly copiedAt: number;
  readonly windows: SeriesWindow[];
}

interface CachedFigures {
  readonly hour: number;
  readonly copiedAt: number;
  readonly figures: HourFigures;
}

export interface ViewerHoursOptions {
  readonly windowMs: number;
  readonly sampleIntervalMs: number;
  /** RETENTION_DAYS in ms: marks and copies go with the snapshots they stand for. */
  readonly retentionMs: number;
}

interface WantedHour {
  readonly auction: ObjectId;
  readonly hex: string;
  readonly hour: number;
  /** The newest mark's time. */
  lastMark: number;
}

function viewerHours(
  marks: Collection<MarkDocument>,
  hours: Collection<HourDocument>,
  figuresCollection: Collection<FiguresDocument>,
  snapshots: ViewerAnalyticsRepository,
  { guard }: DatabaseAvailability,
  options: ViewerHoursOptions,
  log: FastifyBaseLogger,
): ViewerHours {
  const { windowMs, retentionMs } = options;
  const remembered = new Set<string>();
  /** Trusted copies read or made by this process, by key: checked against the marks like stored ones. */
  const memory = new Map<string, CachedHour>();
  /** Trusted figures read or taken by this process, by key. */
  const figuresMemory = new Map<string, CachedFigures>();
  /**
   * The windows found so far of hours not settled yet, by key and start: a stored window never
   * changes (a second insert is a no-op), so a read looks up only the starts not found before.
   */
  const openMemory = new Map<string, { readonly hour: number; readonly found: Map<number, SeriesWindow> }>();
  /** Every auction-hour marked, by key, with its newest mark's time. */
  const marked = new Map<string, WantedHour>();
  /** When the last read of the marks began (this clock). */
  let marksReadAt = -Infinity;
  let marksReading: Promise<void> | undefined;
  /** The copying under way (one at a time). */
  let copying: Promise<unknown> = Promise.resolve();
  /** Hours late snapshots touched, to copy once they stop coming. */
  let pending: { first: number; last: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  /** Unique across processes and calls: this process's random prefix, then a counter. */
  const prefix = randomBytes(6).toString('hex');
  let sequence = 0;

  /** The window starts of an hour (windows start at multiples of their length since the epoch). */
  const startsIn = (hour: number): number[] => {
    const starts: number[] = [];
    for (let start = firstStartIn(hour, windowMs); start < hour + HOUR_MS; start += windowMs) starts.push(start);
    return starts;
  };

  function addMark({ auction, hour, at }: { auction: ObjectId; hour: Date; at: Date }): void {
    const hex = auction.toHexString();
    const key = keyOf(hex, hour.getTime());
    const known = marked.get(key);
    if (known === undefined) marked.set(key, { auction, hex, hour: hour.getTime(), lastMark: at.getTime() });
    else known.lastMark = Math.max(known.lastMark, at.getTime());
  }

  /** Reads the marks inserted since the last read began (all of them the first time). */
  function readMarks(): Promise<void> {
    marksReading ??= (async () => {
      const startedAt = Date.now();
      const since = new Date(Math.max(0, marksReadAt - MARKS_OVERLAP_MS));
      const found = await guard(() => marks.find({ at: { $gte: since } }, { projection: { _id: 0, auctions: 1, auction: 1, hour: 1, at: 1 } }).toArray());
      for (const { auctions, auction, hour, at } of found) for (const one of auctions ?? [auction]) if (one !== undefined) addMark({ auction: one, hour, at });
      marksReadAt = startedAt;
      forgetExpired(startedAt);
    })().finally(() => {
      marksReading = undefined;
    });
    return marksReading;
  }

  /** The marks, read again first when they are older than MARKS_STALE_MS, in the background when older than MARKS_FRESH_MS. */
  async function currentMarks(): Promise<Map<string, WantedHour>> {
    const age = Date.now() - marksReadAt;
    if (age > MARKS_STALE_MS) await readMarks();
    else if (age > MARKS_FRESH_MS) {
      readMarks().catch((error: unknown) => {
        log.warn({ err: error }, 'reading the hour marks failed: the next read tries again');
      });
    }
    return marked;
  }

  /** Drops from memory what the purge or the TTL monitor deletes from the database. */
  function forgetExpired(now: number): void {
    for (const [key, { lastMark }] of marked) if (lastMark < now - retentionMs - MARK_RETENTION_EXTRA_MS) marked.delete(key);
    for (const [key, { hour }] of memory) if (hour < now - retentionMs) memory.delete(key);
    for (const [key, { hour }] of figuresMemory) if (hour < now - retentionMs) figuresMemory.delete(key);
  }

  function remember(key: string, cached: CachedHour): CachedHour {
    return keep(memory, key, cached);
  }

  function rememberFigures(key: string, cached: CachedFigures): HourFigures {
    return keep(figuresMemory, key, cached).figures;
  }

  /** Takes the figures of copies and stores them beside the copies; returns them by key. */
  async function storeFigures(copies: readonly (readonly [string, CachedHour])[], auctionOf: (key: string) => ObjectId): Promise<Map<string, HourFigures>> {
    const taken = copies.map(([key, { hour, copiedAt, windows }]) => [key, { hour, copiedAt, figures: HourFigures.of(hour, windows, options) }] as const);
    if (taken.length === 0) return new Map();
    const documents = taken.map(([key, { hour, copiedAt, figures }]): FiguresDocument => {
      const state = figures.summary.state();
      return {
        _id: key,
        auction: auctionOf(key),
        hour: new Date(hour),
        copiedAt: new Date(copiedAt),
        n: state.count,
        p: state.peakViewers,
        pt: state.peakAt,
        m: state.minViewers,
        w: state.weightedSum,
        s: state.samples,
        f: state.first,
        l: state.last,
        ...(state.visitors === null ? {} : { v: new Binary(state.visitors) }),
        q: [...figures.quarters],
        qv: figures.visitors.map((sketch) => (sketch === null ? null : new Binary(sketch.toBytes()))),
        o: new Binary(figures.starts),
        wl: windowMs,
      };
    });
    await replaceWhole(figuresCollection, documents);
    return new Map(taken.map(([key, cached]) => [key, rememberFigures(key, cached)]));
  }

  /** Copies these settled hours from the snapshots, stores the copies and their figures, and returns the copies by key. */
  async function copyHours(wanted: readonly WantedHour[]): Promise<Map<string, CachedHour>> {
    if (wanted.length === 0) return new Map();
    const copiedAt = Date.now();
    const byKey = new Map<string, SeriesWindow[]>(wanted.map(({ hex, hour }) => [keyOf(hex, hour), []]));
    if (wanted.length * (HOUR_MS / windowMs) <= KEYED_COPY_WINDOWS) {
      await Promise.all(
        wanted.map(async ({ auction, hex, hour }) => {
          byKey.set(keyOf(hex, hour), await collect(snapshots.windowsAt(auction, startsIn(hour))));
        }),
      );
    } else {
      // Bounded at the last hour too: late snapshots' hours are often hours before the windows stored since.
      const { first, last } = hourSpan(wanted.map(({ hour }) => hour));
      for await (const window of snapshots.windowsSince(new Date(first), new Date(last + HOUR_MS - 1))) {
        byKey.get(keyOf(window.auction.toHexString(), hourOf(window.timestamp.getTime())))?.push(window);
      }
      for (const windows of byKey.values()) windows.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
    }
    const documents = wanted.map(({ auction, hex, hour }): HourDocument => ({
      _id: keyOf(hex, hour),
      auction,
      hour: new Date(hour),
      copiedAt: new Date(copiedAt),
      windows: (byKey.get(keyOf(hex, hour)) ?? []).map((window) => copy(window, hour)),
    }));
    await replaceWhole(hours, documents);
    const copied = documents.map(({ _id, hour, windows }) => [_id, remember(_id, { hour: hour.getTime(), copiedAt, windows: windows.map((window) => uncopy(window, hour.getTime())) })] as const);
    const auctions = new Map(wanted.map(({ hex, hour, auction }) => [keyOf(hex, hour), auction]));
    await storeFigures(copied, (key) => auctions.get(key) as ObjectId);
    return new Map(copied);
  }

  /** Stores these documents whole, replacing what their keys hold, REPLACES_PER_COMMAND at a time. */
  async function replaceWhole<T extends { _id: string }>(collection: Collection<T>, documents: readonly T[]): Promise<void> {
    for (let i = 0; i < documents.length; i += REPLACES_PER_COMMAND) {
      const chunk = documents.slice(i, i + REPLACES_PER_COMMAND);
      try {
        await guard(() =>
          collection.bulkWrite(
            // The driver's filter type cannot see that T's _id is a string.
            chunk.map((document) => ({ replaceOne: { filter: { _id: document._id } as Filter<T>, replacement: document as WithoutId<T>, upsert: true } })),
            { ordered: false },
          ),
        );
      } catch (error) {
        // Two processes writing the same key at once: both upserted, one lost the insert; the other's document is as good.
        if (!onlyDuplicateKeys(error)) throw error;
      }
    }
  }

  /** Whether a copy taken at `copiedAt` holds every window of the hour: taken after it settled and after its newest mark. */
  const trusted = ({ hour, lastMark }: WantedHour, copiedAt: number): boolean => settled(hour, copiedAt) && copiedAt > lastMark + CLOCK_SKEW_MS;

  /** What this process holds of these hours that can be trusted, by key, and the hours it lacks. */
  function inMemory<T extends { readonly copiedAt: number }>(held: ReadonlyMap<string, T>, wanted: readonly WantedHour[]): { found: Map<string, T>; missing: WantedHour[] } {
    const found = new Map<string, T>();
    const missing: WantedHour[] = [];
    for (const wantedHour of wanted) {
      const key = keyOf(wantedHour.hex, wantedHour.hour);
      const cached = held.get(key);
      if (cached !== undefined && trusted(wantedHour, cached.copiedAt)) found.set(key, cached);
      else missing.push(wantedHour);
    }
    return { found, missing };
  }

  /** The stored copies of these hours that can be trusted, by key. */
  async function storedCopies(wanted: readonly WantedHour[]): Promise<Map<string, CachedHour>> {
    const found = new Map<string, CachedHour>();
    const copies = await guard(() => Promise.all(wanted.map(({ hex, hour }) => hours.findOne({ _id: keyOf(hex, hour) }))));
    wanted.forEach((wantedHour, i) => {
      const copied = copies[i];
      if (copied === null || copied === undefined || !trusted(wantedHour, copied.copiedAt.getTime())) return;
      const windows = copied.windows.map((window) => uncopy(window, wantedHour.hour));
      found.set(copied._id, remember(copied._id, { hour: wantedHour.hour, copiedAt: copied.copiedAt.getTime(), windows }));
    });
    return found;
  }

  /**
   * Settled hours: from this process's memory, else from the stored copies, else copied now. One
   * copying at a time: reads that need the same hours meanwhile find the copies the first one
   * wrote instead of reading every snapshot again.
   */
  async function settledHours(closed: readonly WantedHour[]): Promise<Map<string, CachedHour>> {
    const { found: byKey, missing } = inMemory(memory, closed);
    let rest = missing;
    for (const [key, cached] of await storedCopies(rest)) byKey.set(key, cached);
    rest = rest.filter(({ hex, hour }) => !byKey.has(keyOf(hex, hour)));
    if (rest.length === 0) return byKey;

    const run = copying.then(async () => {
      const meanwhile = await storedCopies(rest);
      const copied = await copyHours(rest.filter(({ hex, hour }) => !meanwhile.has(keyOf(hex, hour))));
      return [...meanwhile, ...copied];
    });
    copying = run.catch(() => undefined);
    for (const [key, cached] of await run) byKey.set(key, cached);
    return byKey;
  }

  /** Copies the settled hours that late snapshots touched, a while after the last of them (a restore or an outage's backlog). */
  function copyLater(hoursTouched: readonly number[]): void {
    const span = hourSpan(hoursTouched);
    const first = span.first;
    const last = span.last + HOUR_MS - 1;
    pending = pending === undefined ? { first, last } : { first: Math.min(pending.first, first), last: Math.max(pending.last, last) };
    clearTimeout(timer);
    timer = setTimeout(copyPending, COPY_AFTER_QUIET_MS);
    timer.unref();
  }

  function copyPending(): void {
    if (pending === undefined) return;
    const range = { since: new Date(pending.first), until: new Date(pending.last) };
    pending = undefined;
    inFlight = select(null, range).then((wanted) => windowsFor(wanted, range)).then(
      () => undefined,
      (error: unknown) => {
        log.warn({ err: error }, 'copying the hours of late snapshots failed: the first read that needs them copies them');
      },
    );
  }

  /** The marked hours of these auctions (every auction when null) that the range touches. */
  async function select(auctions: readonly ObjectId[] | null, range: HourRange): Promise<WantedHour[]> {
    const first = hourOf(range.since.getTime());
    const last = hourOf(range.until.getTime());
    const only = auctions === null ? undefined : new Set(auctions.map((id) => id.toHexString()));
    const wanted: WantedHour[] = [];
    for (const mark of (await currentMarks()).values()) {
      if (mark.hour >= first && mark.hour <= last && (only === undefined || only.has(mark.hex))) wanted.push(mark);
    }
    return wanted;
  }

  /** The windows of these hours that start within the range (bounds included), by key: settled hours from their copies, open ones by key from the snapshots. */
  async function windowsFor(wanted: readonly WantedHour[], range: HourRange): Promise<Map<string, readonly SeriesWindow[]>> {
    const now = Date.now();
    const since = range.since.getTime();
    const until = range.until.getTime();
    const inRange = (window: SeriesWindow): boolean => {
      const start = window.timestamp.getTime();
      return start >= since && start <= until;
    };
    const byKey = new Map<string, readonly SeriesWindow[]>();
    for (const [key, { windows }] of await settledHours(wanted.filter(({ hour }) => settled(hour, now)))) byKey.set(key, windows.filter(inRange));
    for (const [key, { hour }] of openMemory) if (settled(hour, now)) openMemory.delete(key);
    await Promise.all(
      wanted
        .filter(({ hour }) => !settled(hour, now))
        .map(async ({ auction, hex, hour }) => {
          const key = keyOf(hex, hour);
          let open = openMemory.get(key);
          if (open === undefined) openMemory.set(key, (open = { hour, found: new Map() }));
          const { found } = open;
          const starts = startsIn(hour).filter((start) => start >= since && start <= until);
          for await (const window of snapshots.windowsAt(auction, starts.filter((start) => !found.has(start)))) found.set(window.timestamp.getTime(), decoded(window));
          byKey.set(key, starts.flatMap((start) => found.get(start) ?? []));
        }),
    );
    return byKey;
  }

  /** The stored figures of these hours that can be trusted, by key: by key when few, else by their hours' range. */
  async function storedFigures(wanted: readonly WantedHour[]): Promise<Map<string, HourFigures>> {
    if (wanted.length === 0) return new Map();
    const byKey = new Map(wanted.map((wantedHour) => [keyOf(wantedHour.hex, wantedHour.hour), wantedHour]));
    const { first, last } = hourSpan(wanted.map(({ hour }) => hour));
    const filter = wanted.length <= FIGURES_BY_KEY ? { _id: { $in: [...byKey.keys()] } } : { hour: { $gte: new Date(first), $lte: new Date(last) } };
    const found = new Map<string, HourFigures>();
    for (const document of await guard(() => figuresCollection.find(filter).toArray())) {
      const wantedHour = byKey.get(document._id);
      const figures = figuresOf(document);
      if (wantedHour === undefined || figures === undefined || !trusted(wantedHour, document.copiedAt.getTime())) continue;
      found.set(document._id, rememberFigures(document._id, { hour: wantedHour.hour, copiedAt: document.copiedAt.getTime(), figures }));
    }
    return found;
  }

  /**
   * The stored figures as HourFigures; undefined for figures stored by an older version, with
   * another window length, or damaged (a sketch that does not decode): taken again from the copy.
   */
  function figuresOf(document: FiguresDocument): HourFigures | undefined {
    const { q: quarters, qv: visitors, o: starts } = document;
    if (document.wl !== windowMs || quarters.length !== HOUR_QUARTERS * QUARTER_FIGURES || visitors?.length !== HOUR_QUARTERS || starts?.length() !== startsBytes(windowMs)) {
      return undefined;
    }
    try {
      return decodeFigures(document, quarters, visitors, starts);
    } catch (error) {
      log.warn({ err: error, key: document._id }, 'stored hour figures do not decode: taking them again from the copy');
      return undefined;
    }
  }

  function decodeFigures(document: FiguresDocument, quarters: number[], visitors: (Binary | null)[], starts: Binary): HourFigures {
    const summary = RangeSummary.fromState(options, {
      count: document.n,
      peakViewers: document.p,
      peakAt: document.pt,
      minViewers: document.m,
      weightedSum: document.w,
      samples: document.s,
      first: document.f,
      last: document.l,
      visitors: document.v?.value() ?? null,
    });
    return new HourFigures(
      summary,
      Float64Array.from(quarters),
      visitors.map((sketch) => (sketch === null ? null : VisitorSketch.fromBytes(sketch.value()))),
      Uint8Array.from(starts.value()),
    );
  }

  /**
   * Loads the marks, then every stored figures document within retention (the newest first, as many
   * as memory keeps): a fresh process answers the overview, the heatmap and long charts without
   * first reading them from the database, which FerretDB does by reading the whole collection.
   */
  async function warmUp(): Promise<void> {
    await readMarks();
    const since = new Date(Date.now() - retentionMs);
    const documents = await guard(() => figuresCollection.find({ hour: { $gte: since } }).sort({ hour: -1 }).limit(MAX_REMEMBERED_COPIES).toArray());
    // Oldest first: memory forgets what it took first.
    for (const document of documents.reverse()) {
      const figures = figuresOf(document);
      const copiedAt = document.copiedAt.getTime();
      const held = figuresMemory.get(document._id);
      // A read may have taken newer figures meanwhile.
      if (figures !== undefined && (held === undefined || held.copiedAt < copiedAt)) rememberFigures(document._id, { hour: document.hour.getTime(), copiedAt, figures });
    }
  }

  /**
   * The figures of these settled hours: from memory, else stored, else taken from their copies
   * (read or made) and stored, for hours copied before figures were.
   */
  async function figuresFor(wanted: readonly WantedHour[]): Promise<Map<string, HourFigures>> {
    // A read that comes while they load (a process that takes traffic before /ready) waits for them rather than read them twice.
    await loaded.done;
    const { found, missing } = inMemory(figuresMemory, wanted);
    const byKey = new Map([...found].map(([key, { figures }]) => [key, figures]));
    let rest = missing;
    for (const [key, figures] of await storedFigures(rest)) byKey.set(key, figures);
    rest = rest.filter(({ hex, hour }) => !byKey.has(keyOf(hex, hour)));
    if (rest.length === 0) return byKey;
    const untaken: [string, CachedHour][] = [];
    for (const [key, copy] of await settledHours(rest)) {
      const cached = figuresMemory.get(key);
      // Copies made just now came with their figures; older ones get theirs here.
      if (cached !== undefined && cached.copiedAt === copy.copiedAt) byKey.set(key, cached.figures);
      else untaken.push([key, copy]);
    }
    const auctions = new Map(rest.map(({ hex, hour, auction }) => [keyOf(hex, hour), auction]));
    for (const [key, figures] of await storeFigures(untaken, (key) => auctions.get(key) as ObjectId)) byKey.set(key, figures);
    return byKey;
  }

  const loaded = startUpLoad(
    log,
    'hour marks and figures',
    async () => {
      await warmUp();
      return { figures: figuresMemory.size, marks: marked.size };
    },
    'reads load what they need',
  );

  const hoursApi: ViewerHours = {
    warmedUp: loaded.loaded,

    async close() {
      // What is due but not started is left to the first read that needs it.
      clearTimeout(timer);
      pending = undefined;
      await Promise.all([inFlight, loaded.stop(), marksReading?.catch(() => undefined)]);
    },

    async noteStored(stored, doneAt) {
      const byHour = new Map<number, ObjectId[]>();
      const seen = new Set<string>();
      const fresh: string[] = [];
      const lateHours = new Set<number>();
      for (const snapshot of stored) {
        const hex = snapshot.auction.toHexString();
        const hour = hourOf(snapshot.timestamp.getTime());
        const key = keyOf(hex, hour);
        if (seen.has(key)) continue;
        seen.add(key);
        // Late: a copy of the hour may have been taken before this write; the mark makes reads take another.
        const late = doneAt + CLOCK_SKEW_MS >= hour + HOUR_MS + HOUR_SETTLED_MS;
        if (!late && remembered.has(key)) continue;
        const auctions = byHour.get(hour);
        if (auctions === undefined) byHour.set(hour, [snapshot.auction]);
        else auctions.push(snapshot.auction);
        if (late) lateHours.add(hour);
        else fresh.push(key);
      }
      if (byHour.size === 0) return;
      const at = new Date(doneAt);
      const documents = [...byHour].map(([hour, auctions]) => {
        sequence += 1;
        return { _id: `${String(hour)}:${prefix}${String(sequence)}`, auctions, hour: new Date(hour), at };
      });
      await guard(() => marks.insertMany(documents, { ordered: false }));
      // This process's reads see its own marks at once; other processes' within MARKS_STALE_MS.
      for (const { auctions, hour } of documents) for (const auction of auctions) addMark({ auction, hour, at });
      if (remembered.size + fresh.length > MAX_REMEMBERED) remembered.clear();
      for (const key of fresh) remembered.add(key);
      if (lateHours.size > 0) copyLater([...lateHours]);
    },

    async windows(auctions, range) {
      const wanted = await select(auctions, range);
      const windowsByKey = await windowsFor(wanted, range);
      const byAuction = new Map<string, SeriesWindow[]>();
      for (const { hex, hour } of [...wanted].sort((a, b) => a.hour - b.hour)) {
        let list = byAuction.get(hex);
        if (list === undefined) byAuction.set(hex, (list = []));
        list.push(...(windowsByKey.get(keyOf(hex, hour)) ?? []));
      }
      return byAuction;
    },

    async slices(auctions, range) {
      const now = Date.now();
      const wanted = await select(auctions, range);
      // Wholly within the range: every window the hour can hold starts between its bounds.
      const whole = (hour: number): boolean => settled(hour, now) && hour >= range.since.getTime() && hour + HOUR_MS - 1 <= range.until.getTime();
      const figuresByKey = await figuresFor(wanted.filter(({ hour }) => whole(hour)));
      const windowsByKey = await windowsFor(
        wanted.filter(({ hex, hour }) => !figuresByKey.has(keyOf(hex, hour))),
        range,
      );
      const byAuction = new Map<string, HourSlice[]>();
      for (const { hex, hour } of [...wanted].sort((a, b) => a.hour - b.hour)) {
        const key = keyOf(hex, hour);
        const figures = figuresByKey.get(key);
        let list = byAuction.get(hex);
        if (list === undefined) byAuction.set(hex, (list = []));
        list.push(figures === undefined ? { hour, windows: windowsByKey.get(key) ?? [] } : { hour, figures });
      }
      return byAuction;
    },

    async ensureRetention() {
      const kinds = [
        await createRetentionIndex(marks, 'at', (retentionMs + MARK_RETENTION_EXTRA_MS) / 1000),
        await createRetentionIndex(hours, 'hour', retentionMs / 1000),
        await createRetentionIndex(figuresCollection, 'hour', retentionMs / 1000),
      ];
      return kinds.every((kind) => kind === 'ttl') ? 'ttl' : 'purge';
    },

    async purgeExpired() {
      const now = Date.now();
      const marksPurged = await purgeInChunks(marks, { at: { $lt: new Date(now - retentionMs - MARK_RETENTION_EXTRA_MS) } });
      const hoursPurged = await purgeInChunks(hours, { hour: { $lt: new Date(now - retentionMs) } });
      const figuresPurged = await purgeInChunks(figuresCollection, { hour: { $lt: new Date(now - retentionMs) } });
      forgetExpired(now);
      return marksPurged + hoursPurged + figuresPurged;
    },
  };
  return hoursApi;
}

/** The document saying every snapshot stored before marks existed has been marked (it has no hour: no read finds it). */
const BACKFILLED = 'backfilled';
/** Auctions listed in one backfilled mark at most, and marks inserted at once: a few MB per insert. */
const BACKFILL_AUCTIONS_PER_MARK = 5_000;
const BACKFILL_MARKS_PER_INSERT = 100;

/**
 * Once per database: marks the auction-hours of snapshots stored before this version, which the
 * ingest never marked, in one pass over the collection at start-up. Returns how many it marked,
 * or undefined when it had been done.
 */
async function backfillMarks(marks: Collection<MarkDocument>, snapshots: ViewerAnalyticsRepository): Promise<number | undefined> {
  if ((await marks.findOne({ _id: BACKFILLED })) !== null) return undefined;
  const at = new Date();
  const byHour = new Map<number, Map<string, ObjectId>>();
  for await (const window of snapshots.windowsSince(new Date(0))) {
    const hour = hourOf(window.timestamp.getTime());
    let auctions = byHour.get(hour);
    if (auctions === undefined) byHour.set(hour, (auctions = new Map<string, ObjectId>()));
    auctions.set(window.auction.toHexString(), window.auction);
  }
  const all: MarkDocument[] = [];
  let marked = 0;
  for (const [hour, auctions] of byHour) {
    const list = [...auctions.values()];
    marked += list.length;
    for (let i = 0; i < list.length; i += BACKFILL_AUCTIONS_PER_MARK) {
      all.push({ _id: `${String(hour)}:backfill:${String(i)}`, auctions: list.slice(i, i + BACKFILL_AUCTIONS_PER_MARK), hour: new Date(hour), at });
    }
  }
  for (let i = 0; i < all.length; i += BACKFILL_MARKS_PER_INSERT) {
    try {
      await marks.insertMany(all.slice(i, i + BACKFILL_MARKS_PER_INSERT), { ordered: false });
    } catch (error) {
      // Another process backfilling at the same time: its marks are the same.
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }
  // Typed as a mark without hour or auctions: the marks' readers filter on `at`, which this lacks.
  await marks.insertOne({ _id: BACKFILLED } as MarkDocument).catch((error: unknown) => {
    if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
  });
  return marked;
}

/** The marks and hour copies behind the reads of many auctions; the only module that touches their collections. */
export default fp<{ config: BackendConfig }>(
  async (fastify, { config }) => {
    const db = fastify.mongo.db;
    if (db === undefined) throw new Error('the mongodb plugin was registered without a database name');
    const marks = db.collection<MarkDocument>(MARKS_COLLECTION);
    const marked = await backfillMarks(marks, fastify.viewerAnalytics);
    if (marked !== undefined) fastify.log.info({ marks: marked }, 'marked the auction-hours of snapshots stored before marks existed');
    fastify.decorate(
      'viewerHours',
      viewerHours(
        marks,
        db.collection<HourDocument>(HOURS_COLLECTION),
        db.collection<FiguresDocument>(FIGURES_COLLECTION),
        fastify.viewerAnalytics,
        fastify.databaseAvailability,
        { windowMs: windowLength(config), sampleIntervalMs: config.SAMPLE_INTERVAL_MS, retentionMs: config.RETENTION_DAYS * 86_400_000 },
        fastify.log,
      ),
    );
    fastify.addHook('onClose', () => fastify.viewerHours.close());
  },
  { name: 'viewer-hours', dependencies: ['mongodb', 'database-availability', 'viewer-analytics-repository'] },
);
