/** What every way of getting a database hands back: the start command, tests and benchmarks use only this. */
export type DatabaseKind = 'uri' | 'docker' | 'ferretdb';

export interface Database {
  /** Connection string without a database name; pick one per test file or service. */
  readonly uri: string;
  readonly kind: DatabaseKind;
  /** The database's own process, when this helper started one (FerretDB): fault tests kill it. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}
