/** What every way of getting a Redis hands back: the start command, tests and benchmarks use only this. */
export type RedisKind = 'url' | 'docker' | 'redis-server';

export interface RedisInstance {
  /** redis://host:port of a server that answers now. */
  readonly url: string;
  readonly kind: RedisKind;
  /** The server's own process, when this helper started one (redis-server): fault tests stop or kill it. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}
