import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { RedisInstance } from './redis.js';

/** True when a Docker engine (not just the client) answers. */
export function dockerEngineAnswers(): boolean {
  const cli = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  if (cli.error === undefined) return cli.status === 0;
  // No docker CLI: testcontainers talks to the socket itself.
  return process.env['DOCKER_HOST'] !== undefined || existsSync('/var/run/docker.sock');
}

export async function startRedisContainer(): Promise<RedisInstance> {
  // Loaded only here: testcontainers is heavy and most runs on this machine never need it.
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  return {
    url: `redis://${container.getHost()}:${String(container.getMappedPort(6379))}`,
    kind: 'docker',
    async stop() {
      await container.stop();
    },
  };
}
