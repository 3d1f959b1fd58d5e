/**
 * Numbers as the status page shows them, always with their unit: bytes in binary units (KiB, MiB,
 * GiB: what `du -h` and the storage systems say), rates per second or per hour, ages in the
 * largest unit that keeps them readable. Plain functions, no DOM: the browser bundle and the
 * tests use them alike.
 */
const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** 3 significant digits at most, no trailing zeros: 1.5, 12.3, 512. */
function short(n: number): string {
  if (n === 0) return "0";
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return Number(n.toFixed(digits)).toString();
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "–";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${bytes < 0 ? "-" : ""}${unit === 0 ? Math.round(value) : short(value)} ${BYTE_UNITS[unit]}`;
}

export function formatBytesPerSecond(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond == null ? "–" : `${formatBytes(bytesPerSecond)}/s`;
}

/** A whole count with thousands separators: 12,345. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

/** Files over a number of seconds as a rate in the unit that gives a readable number: files/s, files/min or files/h. */
export function formatFileRate(files: number, seconds: number): string {
  if (!(seconds > 0)) return "–";
  const perSecond = files / seconds;
  if (perSecond === 0) return "0 files/h";
  if (perSecond >= 1) return `${short(perSecond)} files/s`;
  if (perSecond * 60 >= 1) return `${short(perSecond * 60)} files/min`;
  return `${short(perSecond * 3600)} files/h`;
}

/** How long ago `at` was, from `now` (ms since the epoch): "4 s ago", "12 min ago", "3 h ago", "2 d ago". */
export function formatAge(at: string | Date | null | undefined, now: number): string {
  if (at == null) return "never";
  const ms = now - new Date(at).getTime();
  if (!Number.isFinite(ms)) return "–";
  return `${formatDuration(Math.max(0, ms) / 1000)} ago`;
}

/** A duration in seconds as "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ""}`;
  }
  const h = Math.floor((s % 86400) / 3600);
  return `${Math.floor(s / 86400)} d${h ? ` ${h} h` : ""}`;
}

/** A fraction as a whole percentage, never showing 100 % before it is complete nor 0 % once something is. */
export function formatPercent(done: number, total: number): string {
  if (!(total > 0)) return "–";
  const p = (100 * done) / total;
  const shown = done < total ? Math.min(99, Math.floor(p)) : 100;
  return `${done > 0 && shown === 0 ? "<1" : shown} %`;
}
