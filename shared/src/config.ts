import Type, { type Static, type TObject } from 'typebox';
import { Value } from 'typebox/value';
import { MIN_INTERNAL_API_KEY_LENGTH } from './protocol.js';
import { MAX_SAMPLES_PER_SNAPSHOT } from './schemas/snapshot.js';

// Variables both services read, declared once.
export const NodeEnvSchema = Type.Enum(['development', 'production', 'test'], {
  default: 'development',
  description: 'development, production or test',
});
export const LogLevelSchema = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  default: 'info',
  description: 'a pino level',
});
export const HostSchema = Type.String({ default: '0.0.0.0', description: 'interface to listen on' });
export function PortSchema(defaultPort: number) {
  return Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, description: 'TCP port, 0 for any free one' });
}
// The snapshot window is SAMPLE_INTERVAL_MS × SAMPLES_PER_SNAPSHOT: the socket server cuts windows
// with it and the backend only accepts timestamps on its boundaries, so both must read the same values.
export const SampleIntervalMsSchema = Type.Integer({ minimum: 10, default: 5000, description: 'time between samples (ms)' });
export const SamplesPerSnapshotSchema = Type.Integer({
  minimum: 1,
  maximum: MAX_SAMPLES_PER_SNAPSHOT,
  default: 12,
  description: `samples in one snapshot window, 1 to ${String(MAX_SAMPLES_PER_SNAPSHOT)}`,
});
export function SecretSchema(what: string) {
  return Type.String({ minLength: 16, description: `${what}, 16+ characters (${String(MIN_INTERNAL_API_KEY_LENGTH)}+ in production)` });
}

/** Production refuses short secrets: a guessable internal key would let anyone write analytics. */
export function assertProductionSecrets(service: string, nodeEnv: string, secrets: Readonly<Record<string, string>>): void {
  if (nodeEnv !== 'production') return;
  const weak = Object.entries(secrets).filter(([, value]) => value.length < MIN_INTERNAL_API_KEY_LENGTH);
  if (weak.length > 0) {
    throw new ConfigError(
      service,
      weak.map(([key]) => `${key} must be at least ${String(MIN_INTERNAL_API_KEY_LENGTH)} characters in production`),
    );
  }
}

/** A configuration problem found at start-up; its message names every bad variable. */
export class ConfigError extends Error {
  constructor(service: string, problems: readonly string[]) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the variables a schema names from the environment, fills defaults, converts strings to
 * the declared types and checks them. Values never appear in messages: some are secrets.
 */
export function parseEnv<T extends TObject>(service: string, schema: T, env: NodeJS.ProcessEnv): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const value: unknown = Value.Convert(schema, Value.Default(schema, raw));
  if (Value.Check(schema, value)) return value;

  const problems = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    if (error.keyword === 'required') {
      const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      for (const key of missing) problems.set(key, `${key} is required but not set`);
      continue;
    }
    const key = error.instancePath.split('/')[1] ?? '';
    if (problems.has(key)) continue;
    const property: { description?: string } | undefined = schema.properties[key];
    const expected = property?.description === undefined ? '' : ` (expected: ${property.description})`;
    problems.set(key, `${key} is invalid: ${error.message}${expected}`);
  }
  throw new ConfigError(service, [...problems.values()]);
}

/** Loads a service's configuration, or prints what is wrong and exits: no stack trace for a typo. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
