import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConfigurationGaps {
  /** Listed in `.env.example` for the service, but not read by it. */
  readonly notRead: readonly string[];
  /** Read by the service, but not listed in `.env.example`. */
  readonly notListed: readonly string[];
  /** Read by the service, but without a row in docs/configuration.md. */
  readonly undocumented: readonly string[];
}

/**
 * Holds a service's configuration schema to `.env.example` (the variables of the given sections:
 * `# --- both services ---` is the section "both services") and to docs/configuration.md.
 */
export function configurationGaps(repoRoot: string, sections: readonly string[], read: readonly string[]): ConfigurationGaps {
  const listed = new Set<string>();
  let inSection = false;
  for (const line of readFileSync(join(repoRoot, '.env.example'), 'utf8').split('\n')) {
    const header = /^# --- (.+?) ---$/.exec(line);
    if (header !== null) inSection = sections.includes(header[1] ?? '');
    const variable = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
    if (inSection && variable !== undefined) listed.add(variable);
  }
  const docs = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  return {
    notRead: [...listed].filter((name) => !read.includes(name)),
    notListed: read.filter((name) => !listed.has(name)),
    undocumented: read.filter((name) => !docs.includes(`| \`${name}\` |`)),
  };
}
