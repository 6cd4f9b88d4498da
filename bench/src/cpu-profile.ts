/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): where the busy time went, by kind (uWS native,
 * its JS glue, our code and its encoders, Node internals, GC, native code outside JS) and the
 * functions with the most self time. `--busiest=<s>` keeps only the busiest window of that many
 * seconds: with `BENCH_CPU_PROF=1 pnpm bench --short --only=socket --servers=ours` the server is
 * profiled for its whole life, and its busiest 8 s are the churn.
 *
 * Run: node bench/dist/cpu-profile.js <file.cpuprofile> [--busiest=8] [--top=25]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  /** µs since the previous sample (the first: since startTime). */
  readonly timeDeltas: readonly number[];
}

const IDLE = '(idle)';

/** What a function is, for the shares: the first rule that matches. */
const KINDS: readonly (readonly [kind: string, matches: (frame: CallFrame) => boolean])[] = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['native outside JS (uWS event loop, syscalls, libuv)', (f) => f.functionName === '(program)'],
  ['our code: encoding (encoding/, count-message)', (f) => /services\/socket\/dist\/(encoding\/|broadcast\/count-message)/.test(f.url)],
  ['our code', (f) => f.url.includes('services/socket/dist/')],
  ['uWS JS glue (uws.js)', (f) => f.url.includes('uWebSockets.js')],
  ['JSON', (f) => f.url === '' && /^JSON\.|^(stringify|parse)$/.test(f.functionName)],
  ['uWS native and V8 builtins (called from JS)', (f) => f.url === ''],
  ['Node internals', (f) => f.url.startsWith('node:')],
  ['dependencies (node_modules)', (f) => f.url.includes('node_modules')],
];

function kindOf(frame: CallFrame): string {
  return KINDS.find(([, matches]) => matches(frame))?.[0] ?? 'other';
}

function label(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*?\/(services|node_modules|bench)\//, '$1/');
  return `${name} ${file}:${String(frame.lineNumber + 1)}`;
}

/** [first, end) sample indices of the `seconds`-long window with the most busy time. */
function busiestWindow(profile: CpuProfile, idle: ReadonlySet<number>, seconds: number): [number, number] {
  const at: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) at.push((t += delta));
  let best: [number, number] = [0, at.length];
  let bestBusy = -1;
  let busy = 0;
  let first = 0;
  for (let end = 0; end < at.length; end++) {
    if (!idle.has(profile.samples[end] ?? -1)) busy += profile.timeDeltas[end] ?? 0;
    while ((at[end] ?? 0) - (at[first] ?? 0) > seconds * 1e6) {
      if (!idle.has(profile.samples[first] ?? -1)) busy -= profile.timeDeltas[first] ?? 0;
      first++;
    }
    if (busy > bestBusy) {
      bestBusy = busy;
      best = [first, end + 1];
    }
  }
  return best;
}

function percent(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1)} %`;
}

function main(args: readonly string[]): void {
  const file = args.find((arg) => !arg.startsWith('--'));
  if (file === undefined) throw new Error('usage: node bench/dist/cpu-profile.js <file.cpuprofile> [--busiest=<seconds>] [--top=<n>]');
  const option = (name: string): number | undefined => {
    const raw = args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
    return raw === undefined ? undefined : Number(raw);
  };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === IDLE).map((node) => node.id));
  const seconds = option('busiest');
  const [first, end] = seconds === undefined ? [0, profile.samples.length] : busiestWindow(profile, idle, seconds);

  // Self time per function (one key per name and place: a function's nodes in different stacks add up).
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = first; i < end; i++) {
    const node = nodes.get(profile.samples[i] ?? -1);
    const us = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    totalUs += us;
    if (idle.has(node.id)) {
      idleUs += us;
      continue;
    }
    const key = label(node.callFrame);
    const entry = selfUs.get(key) ?? { frame: node.callFrame, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
  }
  const busyUs = totalUs - idleUs;
  const byKind = new Map<string, number>();
  for (const { frame, us } of selfUs.values()) byKind.set(kindOf(frame), (byKind.get(kindOf(frame)) ?? 0) + us);

  const out: string[] = [
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled${seconds === undefined ? '' : ` (the busiest ${String(seconds)} s)`}, ` +
      `busy ${percent(busyUs, totalUs)} of it (${(busyUs / 1e6).toFixed(2)} s)`,
    '',
    '| share of busy time | kind |',
    '| ---: | --- |',
    ...[...byKind].sort((a, b) => b[1] - a[1]).map(([kind, us]) => `| ${percent(us, busyUs)} | ${kind} |`),
    '',
    '| self | function |',
    '| ---: | --- |',
    ...[...selfUs.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, option('top') ?? 25)
      .map(([key, { us }]) => `| ${percent(us, busyUs)} | \`${key}\` |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main(process.argv.slice(2));
