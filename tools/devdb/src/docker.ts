import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Database } from './database.js';

/** True when a Docker engine (not just the client) answers. */
export function dockerEngineAnswers(): boolean {
  const cli = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  if (cli.error === undefined) return cli.status === 0;
  // No docker CLI: testcontainers talks to the socket itself.
  return process.env['DOCKER_HOST'] !== undefined || existsSync('/var/run/docker.sock');
}

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
