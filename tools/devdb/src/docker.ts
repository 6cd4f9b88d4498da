import type { Database } from './database.js';

export async function startMongoContainer(): Promise<Database> {
  // Loaded only here: testcontainers is heavy and most runs on this machine never need it.
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const container = await new MongoDBContainer('mongo:7').start();
  return {
    uri: `${container.getConnectionString()}/?directConnection=true`,
    kind: 'docker',
    async stop() {
      await container.stop();
    },
  };
}
