/**
 * Durations written for people: "90s", "10m", "1h30m", "1.5h", or plain seconds ("600").
 *
 * @example
 *   parseDuration("10m");    // 600
 *   parseDuration("1h30m");  // 5400
 *   parseDuration("soon");   // null
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1 };

/** Seconds of a duration ("10m", "1h30m", "45s", "600"), or null when it is not one or not > 0. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return positive(Number(trimmed));
  if (!/^(\d+(\.\d+)?[hms])+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([hms])/g))
    seconds += Number(amount) * UNIT_SECONDS[unit];
  return positive(seconds);
}

function positive(seconds: number): number | null {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}
