import { describe, expect, it } from 'vitest';
import { parseForwardSpec } from './forward-spec';

describe('port-forward [LOCAL:]REMOTE', () => {
  it.each([
    ['80', { localPort: 0, host: '127.0.0.1', port: 80 }],
    ['8080:80', { localPort: 8080, host: '127.0.0.1', port: 80 }],
    ['0:80', { localPort: 0, host: '127.0.0.1', port: 80 }],
    ['db:5432', { localPort: 0, host: 'db', port: 5432 }],
    ['10.0.0.7:22', { localPort: 0, host: '10.0.0.7', port: 22 }],
    ['8080:db.local:5432', { localPort: 8080, host: 'db.local', port: 5432 }],
    ['9000:[::1]:9000', { localPort: 9000, host: '::1', port: 9000 }],
    ['[::1]:9000', { localPort: 0, host: '::1', port: 9000 }],
  ])('%s', (text, spec) => expect(parseForwardSpec(text)).toEqual(spec));

  it('refuses what is not a spec, with an example', () => {
    expect(() => parseForwardSpec('http')).toThrow(/is not \[LOCAL:\]REMOTE: write e.g. 8080:80/);
    expect(() => parseForwardSpec('8080:0')).toThrow(/remote port must be 1-65535, got 0/);
    expect(() => parseForwardSpec('70000:80')).toThrow(/local port must be 1-65535 \(or 0 for any free port\), got 70000/);
    expect(() => parseForwardSpec('a:b:c:80')).toThrow(/is not/);
  });
});
