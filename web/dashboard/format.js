// How values read on screen.

/** A date as local date and time, to the second. */
export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Seconds between two instants, or up to now. */
export function took(startIso, endIso) {
  if (!startIso) return '—';
  const seconds = ((endIso ? Date.parse(endIso) : Date.now()) - Date.parse(startIso)) / 1000;
  return seconds < 90 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export const seconds = (value) => `${Number(value).toFixed(1)} s`;
export const shortId = (id) => (id.length > 14 ? `${id.slice(0, 14)}…` : id);
export const unfinished = (state) => state === 'queued' || state === 'running' || state === 'reconciling';
