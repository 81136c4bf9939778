// Output for people that pipes can still read: aligned columns separated by
// at least two spaces (so `awk '{print $1}'` works), colour only on a terminal.

export type Color = 'green' | 'yellow' | 'red' | 'dim';

const CODES: Record<Color, string> = { green: '32', yellow: '33', red: '31', dim: '2' };

export interface TableOptions {
  /** colour for one cell, applied after padding so alignment holds */
  color?: (column: number, value: string) => Color | undefined;
  useColor?: boolean;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], colorize: boolean) =>
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        const text = last ? cell : cell.padEnd(widths[i]);
        const color = colorize ? options.color?.(i, cell) : undefined;
        return color && options.useColor ? paint(text, color) : text;
      })
      .join('  ')
      .trimEnd();
  return [line(header, false), ...rows.map((r) => line(r, true))].join('\n') + '\n';
}

export function paint(text: string, color: Color): string {
  return `\x1b[${CODES[color]}m${text}\x1b[0m`;
}

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/** "just now", "42s ago", "5m ago", "3h ago", "12d ago"; 0 means never. */
export function relativeTime(ms: number, now = Date.now()): string {
  if (!ms) return 'never';
  const seconds = Math.floor((now - ms) / 1000);
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** Two-column "key  value" lines in the given order, indented. */
export function keyValueLines(values: Readonly<Record<string, string>>, indent = '  '): string {
  const keys = Object.keys(values);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((k) => `${indent}${k.padEnd(width)}  ${values[k]}`.trimEnd() + '\n').join('');
}

/** "700 B", "683.6 KiB", "128 MiB": binary units, one decimal below 10. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "[██████░░░░]" for a fraction in 0..1. */
export function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}
