import type { RedisInstance } from './redis.js';

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
