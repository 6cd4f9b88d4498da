interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a write is in flight go together in the next write, so N
 * concurrent callers cost about one database round trip instead of N, and an idle caller waits
 * for nothing but its own write. Each caller is answered only once the write holding its item
 * has finished, with that item's own result; when the write fails, every caller in it gets the
 * error.
 */
export class GroupCommit<T, R> {
  #queue: Pending<T, R>[] = [];
  #writing = false;

  /**
   * @param write stores items, answering one result per item in the same order
   * @param maxItems the most items one write takes
   */
  constructor(
    private readonly write: (items: readonly T[]) => Promise<readonly R[]>,
    private readonly maxItems: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.maxItems);
      try {
        const results = await this.write(group.map(({ item }) => item));
        if (results.length !== group.length) throw new Error(`a group write answered ${String(results.length)} results for ${String(group.length)} items`);
        group.forEach(({ resolve }, index) => {
          resolve(results[index] as R);
        });
      } catch (error) {
        for (const { reject } of group) reject(error);
      }
    }
    this.#writing = false;
  }
}
