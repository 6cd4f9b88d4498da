import fp from 'fastify-plugin';
import type { MongoClient, TopologyDescription, TopologyDescriptionChangedEvent } from 'mongodb';
import { SERVER_SELECTION_TIMEOUT_MS } from '../external/mongodb.js';

/** A request's database operation outlived the database: answered 503, like the driver's own errors of an outage. */
export class DatabaseUnavailableError extends Error {
  constructor() {
    super(`no database server has answered for ${String(SERVER_SELECTION_TIMEOUT_MS)} ms`);
    this.name = 'DatabaseUnavailableError';
  }
}

export interface DatabaseAvailability {
  /**
   * Runs a request's database operation, and gives up on it (DatabaseUnavailableError) once no
   * server has been usable for the server selection timeout. An operation already sent when the
   * database died may otherwise wait on the driver with no deadline (it has no operation timeout,
   * and a socket timeout would also cut the retention purge's long scans).
   */
  readonly guard: <T>(operation: () => Promise<T>) => Promise<T>;
  /** The same for each step of a cursor; the cursor is closed when one is given up on. */
  readonly guardIterable: <T>(iterable: AsyncIterable<T> & { close(): Promise<void> }) => AsyncIterable<T>;
}

declare module 'fastify' {
  interface FastifyInstance {
    databaseAvailability: DatabaseAvailability;
  }
}

/** Server types that can answer reads and writes (SDAM's names). */
const USABLE = new Set(['Standalone', 'RSPrimary', 'Mongos', 'LoadBalancer']);
const CHECK_EVERY_MS = 250;

function usable(description: TopologyDescription): boolean {
  for (const server of description.servers.values()) if (USABLE.has(server.type)) return true;
  return false;
}

/** Follows the driver's view of the servers (SDAM events) and fails the operations it guards once none has been usable for long enough. */
function watchAvailability(client: MongoClient): DatabaseAvailability & { stop(): void } {
  const waiting = new Set<(error: Error) => void>();
  let unusableSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;

  const giveUp = (): void => {
    if (unusableSince === undefined || performance.now() - unusableSince < SERVER_SELECTION_TIMEOUT_MS) return;
    for (const reject of waiting) reject(new DatabaseUnavailableError());
    waiting.clear();
  };
  const onChange = ({ newDescription }: TopologyDescriptionChangedEvent): void => {
    if (usable(newDescription)) {
      unusableSince = undefined;
      clearInterval(timer);
      timer = undefined;
    } else if (unusableSince === undefined) {
      unusableSince = performance.now();
      timer = setInterval(giveUp, CHECK_EVERY_MS);
    }
  };
  client.on('topologyDescriptionChanged', onChange);

  const guard = <T>(operation: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.add(reject);
      operation()
        .then(resolve, reject)
        .finally(() => waiting.delete(reject));
    });

  return {
    guard,
    async *guardIterable<T>(iterable: AsyncIterable<T> & { close(): Promise<void> }): AsyncIterable<T> {
      const iterator = iterable[Symbol.asyncIterator]();
      try {
        for (;;) {
          const step = await guard(() => iterator.next());
          if (step.done === true) return;
          yield step.value;
        }
      } finally {
        // Not awaited: on a dead connection the close may hang as the read did.
        iterable.close().catch(() => undefined);
      }
    },
    stop() {
      client.off('topologyDescriptionChanged', onChange);
      clearInterval(timer);
    },
  };
}

export default fp(
  async (fastify) => {
    const availability = watchAvailability(fastify.mongo.client);
    fastify.decorate('databaseAvailability', availability);
    fastify.addHook('onClose', async () => {
      availability.stop();
    });
  },
  { name: 'database-availability', dependencies: ['mongodb'] },
);
