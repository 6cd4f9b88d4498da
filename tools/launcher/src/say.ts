// The launcher's own lines stand apart from the services' (which print their own, pretty on a
// terminal): a coloured `[start]` on a terminal, the bare prefix elsewhere.
const PREFIX = process.stdout.isTTY && process.env['NO_COLOR'] === undefined ? '\x1b[1;35m[start]\x1b[0m' : '[start]';

/** One line of the launcher's. */
export function say(message: string): void {
  process.stdout.write(message === '' ? '\n' : `${PREFIX} ${message}\n`);
}
