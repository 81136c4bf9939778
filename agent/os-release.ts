// Parser for os-release(5): shell-compatible KEY=value lines. Values may be
// unquoted, "double quoted" (backslash escapes \" \\ \$ \` and line-join) or
// 'single quoted' (literal). Comments and malformed lines are skipped, as
// systemd does, so one bad line never hides the rest.

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const value = unquote(m[2]);
    if (value !== undefined) out[m[1]] = value;
  }
  return out;
}

/** Shell-style word: concatenated unquoted, '...' and "..." parts. undefined when malformed. */
function unquote(raw: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c === "'") {
      const end = raw.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += raw.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < raw.length) {
        const d = raw[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1])) {
          out += raw[i + 1];
          i += 2;
        } else {
          out += d;
          i++;
        }
      }
      if (!closed) return undefined;
    } else if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i += 2;
    } else if (/\s/.test(c)) {
      // Unquoted whitespace ends the word; a trailing comment may follow.
      break;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
