import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildGoBinary, exitCode, stopChild } from '@viewer-analytics/testkit';
import type { Database } from './database.js';
import { REPO_ROOT, TOOLS_DIR } from './paths.js';

/** Our Go module that embeds FerretDB 1.24.2 (see its main.go for why not cmd/ferretdb). */
const GO_MODULE_DIR = join(REPO_ROOT, 'tools', 'devdb', 'ferretdb');

/** A digest of the Go module's files: a binary built from other sources is not this one. */
function sourceDigest(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(GO_MODULE_DIR).filter((file) => /\.(go|mod|sum)$/.test(file)).sort()) {
    hash.update(name).update(readFileSync(join(GO_MODULE_DIR, name)));
  }
  return hash.digest('hex').slice(0, 12);
}

/** Named after its sources, so that a change to the wrapper is built again rather than reused. */
export const FERRETDB_BINARY = join(TOOLS_DIR, 'bin', `ferretdb-${sourceDigest()}`);
const START_TIMEOUT_MS = 30_000;

export interface FerretDbOptions {
  readonly dataDir: string | undefined;
  readonly log: (message: string) => void;
  /** Loopback port to listen on; any free one when omitted. A fixed one lets a test restart it in place. */
  readonly port?: number;
}

/** Builds the binary once (per version of its sources). */
export async function buildFerretDb(log: (message: string) => void): Promise<void> {
  if (existsSync(FERRETDB_BINARY)) return;
  log('building FerretDB 1.24.2 into .tools/bin (once; about two minutes on 2 cores)');
  await buildGoBinary(GO_MODULE_DIR, FERRETDB_BINARY, 'FerretDB');
}

export async function startFerretDb(options: FerretDbOptions): Promise<Database> {
  await buildFerretDb(options.log);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ferretdb-'));
  mkdirSync(dataDir, { recursive: true });

  const child = spawn(
    FERRETDB_BINARY,
    // synchronous=normal (with FerretDB's WAL): a commit survives FerretDB being killed, though
    // not a power cut, and costs no fsync of its own; single inserts went from 162-334/s to 623/s.
    [`--listen-addr=127.0.0.1:${String(options.port ?? 0)}`, `--sqlite-url=file:${dataDir}/?_pragma=synchronous(normal)`, '--exit-on-stdin-eof'],
    // stdin stays an open pipe: if this process dies, FerretDB sees EOF and exits too. Its own
    // process group: a terminal's Ctrl-C reaches only the parent, which stops it last, in order.
    { stdio: ['pipe', 'pipe', 'inherit'], detached: true },
  );
  const exited = exitCode(child);

  let uri: string;
  try {
    uri = await readListenUri(child, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  options.log(`FerretDB 1.24.2 (SQLite in ${dataDir}) listening at ${uri}`);

  return {
    uri,
    kind: 'ferretdb',
    pid: child.pid,
    async stop() {
      await stopChild(child, exited);
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function readListenUri(child: ChildProcess, exited: Promise<number | null>): Promise<string> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error('FerretDB started without a stdout pipe');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`FerretDB did not report its address within ${String(START_TIMEOUT_MS)} ms`));
    }, START_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`FerretDB exited with ${String(code)} before it was ready`));
    });
    createInterface({ input: stdout }).once('line', (line) => {
      clearTimeout(timer);
      const parsed = JSON.parse(line) as { uri?: unknown };
      if (typeof parsed.uri === 'string') resolve(parsed.uri);
      else reject(new Error(`unexpected first line from FerretDB: ${line}`));
    });
  });
}
