// A 5-field cron expression (minute hour day-of-month month day-of-week) in
// an IANA time zone, and the next minute it matches. Supports `*`, numbers,
// ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and day names
// (jan..dec, sun..sat) and 7 for Sunday. As in Vixie cron, when both
// day-of-month and day-of-week are restricted a day matching either counts.
// Wall times that do not exist (a DST gap) are skipped; a wall time that
// happens twice (DST end) matches its first occurrence.

export interface CronSchedule {
  readonly source: string;
  readonly timeZone: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** First name's value (months start at 1). */
  namesFrom?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 },
];

/** Days searched ahead before giving up (covers 29 February in 8 years). */
const SEARCH_DAYS = 366 * 8 + 2;

/** Parses `expression` for `timeZone` (IANA; '' = UTC); throws a message naming the bad part. */
export function parseCron(expression: string, timeZone = ''): CronSchedule {
  const tz = timeZone || 'UTC';
  checkTimeZone(tz);
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`cron expression "${expression}" has ${parts.length} fields; use 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")`);
  }
  const values = parts.map((part, i) => parseField(part, FIELDS[i], expression));
  const weekdays = new Set(values[4].map((d) => (d === 7 ? 0 : d)));
  return {
    source: expression.trim(),
    timeZone: tz,
    minutes: values[0],
    hours: values[1],
    days: new Set(values[2]),
    months: new Set(values[3]),
    weekdays,
    daysRestricted: parts[2] !== '*' && !parts[2].startsWith('*/'),
    weekdaysRestricted: parts[4] !== '*' && !parts[4].startsWith('*/'),
  };
}

/** The first start strictly after `afterMs` (epoch ms), or undefined if none within 8 years. */
export function nextCronTime(schedule: CronSchedule, afterMs: number): number | undefined {
  const start = localParts(schedule.timeZone, afterMs);
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const day = new Date(Date.UTC(start.year, start.month - 1, start.day + i));
    const y = day.getUTCFullYear();
    const mo = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    if (!schedule.months.has(mo) || !dayMatches(schedule, d, day.getUTCDay())) continue;
    for (const h of schedule.hours) {
      for (const mi of schedule.minutes) {
        const at = localToUtc(schedule.timeZone, y, mo, d, h, mi);
        if (at !== undefined && at > afterMs) return at;
      }
    }
  }
  return undefined;
}

function dayMatches(s: CronSchedule, day: number, weekday: number): boolean {
  if (s.daysRestricted && s.weekdaysRestricted) return s.days.has(day) || s.weekdays.has(weekday);
  return s.days.has(day) && s.weekdays.has(weekday);
}

function parseField(text: string, spec: FieldSpec, expression: string): number[] {
  const out = new Set<number>();
  const bad = (why: string) => new Error(`cron expression "${expression}": ${spec.name} field "${text}" ${why}`);
  for (const item of text.split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m) throw bad(`is not valid: use *, N, A-B, */N, A-B/N or lists of those`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (!(step >= 1)) throw bad('has a step below 1');
    let from = spec.min;
    let to = spec.max;
    if (m[1] !== '*') {
      const [a, b] = m[1].split('-');
      from = value(a, spec, bad);
      to = b === undefined ? (m[2] === undefined ? from : spec.max) : value(b, spec, bad);
      if (from > to) throw bad(`has a range that goes backwards (${from}-${to})`);
    } else if (spec.name === 'day of week') {
      to = 6; // 7 is an alias of 0: keep * from listing Sunday twice.
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function value(token: string, spec: FieldSpec, bad: (why: string) => Error): number {
  const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + (spec.namesFrom ?? 0) : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) throw bad(`has "${token}" outside ${spec.min}-${spec.max}`);
  return n;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a clear message for a time zone Intl does not know. */
export function checkTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(`time zone "${timeZone}" is not known: use an IANA name such as Europe/Oslo or UTC`);
  }
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The wall-clock date and time of an instant in a time zone. */
export function localParts(timeZone: string, ms: number): Parts {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year, month: out.month, day: out.day, hour: out.hour, minute: out.minute };
}

function wallMs(p: Parts): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
}

/** The earliest instant whose wall time in the zone is the given one; undefined in a DST gap. */
function localToUtc(timeZone: string, year: number, month: number, day: number, hour: number, minute: number): number | undefined {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let best: number | undefined;
  // The zone's offset half a day before and after covers both sides of a transition.
  for (const probe of [wall - 43_200_000, wall + 43_200_000]) {
    const offset = wallMs(localParts(timeZone, probe)) - Math.floor(probe / 60_000) * 60_000;
    const candidate = wall - offset;
    if (wallMs(localParts(timeZone, candidate)) === wall && (best === undefined || candidate < best)) best = candidate;
  }
  return best;
}
