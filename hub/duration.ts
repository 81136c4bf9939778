const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "30s", "2m", "1h", "1d" (also "1.5h") into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]]) : NaN;
  if (!m || !(ms > 0)) throw new Error(`${flag} must be a positive duration such as 500ms, 30s, 5m or 1h, got "${text}"`);
  return ms;
}
