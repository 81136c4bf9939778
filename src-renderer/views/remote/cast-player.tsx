import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { formatDuration } from './format-duration';
import type { Cast } from './asciicast';
import { routeStyleElementsThroughCssom } from './xterm-styles';

const SPEEDS = [0.5, 1, 2, 4, 8];

// Plays an asciicast v2 recording into xterm.js: play, pause, seek (the
// terminal is reset and the output up to that moment written at once) and
// speed. Only output events are drawn; resizes resize the terminal.
export function CastPlayer({ cast, name }: { cast: Cast; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const index = useRef(0);
  const pos = useRef(0);
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const clock = useRef({ startedAt: 0, from: 0 });

  useEffect(() => {
    routeStyleElementsThroughCssom();
    const t = new Terminal({ cols: cast.header.width || 80, rows: cast.header.height || 24, disableStdin: true, screenReaderMode: true, fontSize: 12 });
    t.open(host.current!);
    term.current = t;
    return () => t.dispose();
  }, [cast]);

  const writeUpTo = (target: number) => {
    const t = term.current;
    if (!t) return;
    if (target < pos.current || index.current === 0) {
      t.reset();
      t.resize(cast.header.width || 80, cast.header.height || 24);
      index.current = 0;
    }
    let out = '';
    while (index.current < cast.events.length && cast.events[index.current].time <= target) {
      const e = cast.events[index.current++];
      if (e.code === 'o') out += e.data;
      else if (e.code === 'r') {
        const m = /^(\d+)x(\d+)$/.exec(e.data);
        if (out) t.write(out);
        out = '';
        if (m) t.resize(Number(m[1]), Number(m[2]));
      }
    }
    if (out) t.write(out);
    pos.current = target;
    setTime(target);
  };

  useEffect(() => {
    if (!playing) return;
    clock.current = { startedAt: performance.now(), from: time };
    const timer = setInterval(() => {
      const now = clock.current.from + ((performance.now() - clock.current.startedAt) / 1000) * speed;
      if (now >= cast.duration) {
        writeUpTo(cast.duration);
        setPlaying(false);
      } else writeUpTo(now);
    }, 33);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [playing, speed]);

  const exportCast = () => {
    const lines = [JSON.stringify(cast.header), ...cast.events.map((e) => JSON.stringify([e.time, e.code, e.data]))];
    const url = URL.createObjectURL(new Blob([`${lines.join('\n')}\n`], { type: 'application/x-asciicast' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.cast`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <div className="cast-player" aria-label={`Recording ${name}`} role="region">
      <div className="player-controls">
        <button
          type="button"
          className="primary"
          onClick={() => {
            if (!playing && time >= cast.duration) writeUpTo(0);
            setPlaying((p) => !p);
          }}
        >
          {playing ? 'Pause' : 'Play'}
        </button>
        <input
          type="range"
          aria-label="Position"
          min={0}
          max={Math.max(cast.duration, 0.001)}
          step={0.05}
          value={time}
          onChange={(e) => {
            const to = Number(e.target.value);
            clock.current = { startedAt: performance.now(), from: to };
            writeUpTo(to);
          }}
        />
        <span className="mono" data-testid="player-time">
          {formatDuration(time * 1000)} / {formatDuration(cast.duration * 1000)}
        </span>
        <label>
          Speed{' '}
          <select aria-label="Speed" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={exportCast}>
          Export .cast
        </button>
      </div>
      <div className="terminal-host player-screen" ref={host} data-testid="player-screen" />
    </div>
  );
}
