// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON
// header line, then one JSON array per event: [seconds, code, data].

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp?: number;
  title?: string;
}

export interface CastEvent {
  time: number;
  /** o: output, i: input, r: resize ("COLSxROWS"), m: marker */
  code: string;
  data: string;
}

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
  duration: number;
}

export function parseCast(text: string): Cast {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.length === 0) throw new Error('the recording is empty');
  let header: CastHeader;
  try {
    header = JSON.parse(lines[0]) as CastHeader;
  } catch {
    throw new Error('the recording does not start with an asciicast header');
  }
  if (header.version !== 2) throw new Error(`asciicast version ${String(header.version)} is not supported (only v2)`);
  const events: CastEvent[] = [];
  for (const line of lines.slice(1)) {
    try {
      const [time, code, data] = JSON.parse(line) as [number, string, string];
      if (typeof time === 'number' && typeof code === 'string' && typeof data === 'string') events.push({ time, code, data });
    } catch {
      // a line cut by the size cap: the rest is still playable
    }
  }
  return { header, events, duration: events.length ? events[events.length - 1].time : 0 };
}
