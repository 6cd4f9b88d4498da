import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/group-commit.js';

/** A write that records each group it gets and finishes when the test says so. */
function recordingWrite() {
  const groups: number[][] = [];
  const finish: (() => void)[] = [];
  const write = (items: readonly number[]): Promise<string[]> => {
    groups.push([...items]);
    return new Promise((resolve) => {
      finish.push(() => {
        resolve(items.map((item) => `done ${String(item)}`));
      });
    });
  };
  return { groups, finish, write };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes an idle caller at once, and everything that arrived meanwhile together in the next write', async () => {
    const { groups, finish, write } = recordingWrite();
    const commit = new GroupCommit(write, 100);
    const first = commit.submit(1);
    expect(groups).toEqual([[1]]);
    const later = [2, 3, 4].map((item) => commit.submit(item));
    await turn();
    expect(groups).toEqual([[1]]);

    finish[0]?.();
    expect(await first).toBe('done 1');
    await turn();
    expect(groups).toEqual([[1], [2, 3, 4]]);
    finish[1]?.();
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('takes at most maxItems per write', async () => {
    const { groups, finish, write } = recordingWrite();
    const commit = new GroupCommit(write, 2);
    const all = [1, 2, 3, 4, 5].map((item) => commit.submit(item));
    for (let i = 0; i < 3; i += 1) {
      await turn();
      finish[i]?.();
    }
    expect(await Promise.all(all)).toHaveLength(5);
    expect(groups).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('gives a failed write’s error to each of its callers, and goes on with the next group', async () => {
    let calls = 0;
    const commit = new GroupCommit((items: readonly number[]) => {
      calls += 1;
      return calls === 2 ? Promise.reject(new Error('database away')) : Promise.resolve(items.map(String));
    }, 10);
    const first = commit.submit(1);
    const failed = [commit.submit(2), commit.submit(3)];
    expect(await first).toBe('1');
    for (const outcome of failed) await expect(outcome).rejects.toThrow('database away');
    expect(await commit.submit(4)).toBe('4');
  });

  it('refuses a write that answers another number of results than items', async () => {
    const commit = new GroupCommit(() => Promise.resolve(['one result']), 10);
    const alone = commit.submit(1);
    // Submitted while the first write is under way: one write for both, which answers one result.
    const together = [commit.submit(2), commit.submit(3)];
    expect(await alone).toBe('one result');
    for (const outcome of together) await expect(outcome).rejects.toThrow('a group write answered 1 results for 2 items');
  });
});
