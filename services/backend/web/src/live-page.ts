import { watchViewerCount, type LiveStatus } from './live-client.js';
import { auctionIdFromPath, socketUrl } from './page-config.js';

const count = document.getElementById('count');
const status = document.getElementById('status');
const labels: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Not available',
};

watchViewerCount({
  socketUrl: socketUrl(),
  auctionId: auctionIdFromPath(),
  onCount(viewers) {
    if (count !== null) count.textContent = `${String(viewers)} watching`;
  },
  onStatus(next, detail) {
    if (status === null) return;
    status.textContent = next === 'stopped' && detail !== '' ? `${labels[next]}: ${detail}` : labels[next];
    status.dataset['status'] = next;
  },
});
