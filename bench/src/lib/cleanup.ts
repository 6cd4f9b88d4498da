/**
 * Everything a run started, to stop on failure or interruption: a signal arrives while a scenario
 * awaits, so its `finally` blocks never run; these tasks do. A scenario that ends normally stops
 * its own processes and unregisters them.
 */
type Task = () => unknown;

const tasks = new Map<number, { readonly name: string; readonly task: Task }>();
let nextId = 0;

/** Registers `task`; the returned function unregisters it. */
export function onCleanup(name: string, task: Task): () => void {
  const id = nextId++;
  tasks.set(id, { name, task });
  return () => {
    tasks.delete(id);
  };
}

/** Runs every registered task, newest first (workers before the servers they talk to), each at most once. */
export async function cleanUpAll(log: (message: string) => void): Promise<void> {
  const pending = [...tasks.entries()].reverse();
  tasks.clear();
  for (const [, { name, task }] of pending) {
    try {
      await task();
    } catch (error) {
      log(`cleanup of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
