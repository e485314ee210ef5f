// Times as Kubernetes writes and reads them: RFC 3339 in UTC, to the second (`metav1.Time`) or to
// the microsecond (`metav1.MicroTime`), and one strict parser.

/** `metav1.Time`: RFC 3339, UTC, whole seconds (`2026-01-02T03:04:05Z`). */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `metav1.MicroTime`: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

// RFC 3339 (the profile of ISO 8601 Kubernetes writes), nothing looser: `Date.parse` alone takes
// "1" as the year 2001 and "garbage 2020" as a date.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Unix seconds of an RFC 3339 time, or undefined when the text is not one (or names a day that does not exist). */
export function parseRfc3339(value: string): number | undefined {
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return undefined;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > lastDay) return undefined;
  const millis = Date.parse(value);
  return Number.isFinite(millis) ? Math.floor(millis / 1000) : undefined;
}
