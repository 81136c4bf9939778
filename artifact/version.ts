// Artifact versions: semver-like, compared numerically part by part, so
// 1.10.0 is newer than 1.9.3. "1.2", "1.2.3.4", "2.0.0-rc.1" and "1.0+build5"
// are valid; a pre-release sorts before its release; build metadata is
// ignored in comparisons.

const VERSION_RE = /^(\d{1,15}(?:\.\d{1,15}){0,3})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function isValidVersion(version: string): boolean {
  return VERSION_RE.test(version);
}

function parse(version: string): { numbers: number[]; pre: string[] } {
  const m = VERSION_RE.exec(version);
  if (!m) throw new TypeError(`not a valid version: ${JSON.stringify(version)} (expected digits and dots like 1.4.2, optional -pre and +build)`);
  return { numbers: m[1].split('.').map(Number), pre: m[2] ? m[2].split('.') : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1; // numeric identifiers sort first (semver)
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.numbers.length, pb.numbers.length); i++) {
    const d = (pa.numbers[i] ?? 0) - (pb.numbers[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pa.pre.length === pb.pre.length ? 0 : pa.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const d = compareIdentifiers(pa.pre[i], pb.pre[i]);
    if (d !== 0) return d;
  }
  return Math.sign(pa.pre.length - pb.pre.length);
}
