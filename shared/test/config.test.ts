import { describe, expect, it } from 'vitest';
import Type from 'typebox';
import { assertProductionSecrets, ConfigError, PortSchema, parseEnv, SecretSchema } from '../src/config.js';

const Schema = Type.Object({
  PORT: PortSchema(8080),
  KEY: SecretSchema('a key'),
  MODE: Type.Enum(['a', 'b'], { default: 'a', description: 'a or b' }),
});

describe('parseEnv', () => {
  it('fills defaults and converts strings to the declared types', () => {
    expect(parseEnv('svc', Schema, { KEY: 'k'.repeat(16) })).toEqual({ PORT: 8080, KEY: 'k'.repeat(16), MODE: 'a' });
    expect(parseEnv('svc', Schema, { PORT: '9000', KEY: 'k'.repeat(16), MODE: 'b' })).toMatchObject({ PORT: 9000 });
  });

  it('names every bad or missing variable at once, never its value', () => {
    const secret = 'short-secret';
    let error: unknown;
    try {
      parseEnv('svc', Schema, { PORT: 'eighty', KEY: secret, MODE: 'c' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^svc: invalid configuration/);
    expect(message).toMatch(/PORT is invalid: .*TCP port/);
    expect(message).toMatch(/KEY is invalid: .*16\+ characters/);
    expect(message).toMatch(/MODE is invalid: .*a or b/);
    expect(message).not.toContain(secret);
    expect(() => parseEnv('svc', Schema, {})).toThrow(/KEY is required but not set/);
  });
});

describe('assertProductionSecrets', () => {
  it('refuses secrets under 32 characters in production only', () => {
    expect(() => {
      assertProductionSecrets('svc', 'production', { INTERNAL_API_KEY: 'x'.repeat(31), JWT_SECRET: 'y'.repeat(32) });
    }).toThrow(/INTERNAL_API_KEY must be at least 32 characters in production/);
    expect(() => {
      assertProductionSecrets('svc', 'development', { INTERNAL_API_KEY: 'x'.repeat(16) });
    }).not.toThrow();
  });
});
