/** How the pages write numbers and times: in the browser's language and time zone. */

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const moment = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A count or a mean: at most one decimal, "—" when unknown. */
export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : number.format(value);
}

export function formatWhole(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : whole.format(value);
}

/** A moment, local: "Tue, Dec 1, 14:05". */
export function formatMoment(value: string | number | Date): string {
  return moment.format(new Date(value));
}

export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${String(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${String(hours)} h` : `${String(hours)} h ${String(rest)} min`;
}

/** Minutes of watching: "4.5 min" under an hour, "1 h 12 min" above, "—" when unknown. */
export function formatMinutes(minutes: number | null | undefined): string {
  if (minutes === null || minutes === undefined) return '—';
  return minutes < 60 ? `${number.format(minutes)} min` : formatDuration(minutes * 60_000);
}
