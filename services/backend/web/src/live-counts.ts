/** The most auction ids the socket server's `GET /counts` takes in one request. */
const MAX_IDS_PER_REQUEST = 500;

/**
 * How many are watching each auction right now, across every socket process, from the socket
 * server's public `GET /counts` (counts are no secret: every viewer sees them). Auctions it does
 * not name have nobody watching.
 */
export async function liveCounts(origin: string, auctionIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const requests: Promise<void>[] = [];
  for (let start = 0; start < auctionIds.length; start += MAX_IDS_PER_REQUEST) {
    const ids = auctionIds.slice(start, start + MAX_IDS_PER_REQUEST);
    requests.push(
      fetch(`${origin}/counts?auctions=${ids.join(',')}`).then(async (response) => {
        if (!response.ok) throw new Error(`the socket server answered ${String(response.status)}`);
        const body = (await response.json()) as { counts: Record<string, number> };
        for (const id of ids) counts.set(id, body.counts[id] ?? 0);
      }),
    );
  }
  await Promise.all(requests);
  return counts;
}
