import { describe, expect, it } from 'vitest';
import { parseCpOperand, planCopy } from './cp-operand';

describe('cp operands', () => {
  it('reads DEVICE:PATH only when the colon comes before any slash (as scp)', () => {
    expect(parseCpOperand('dev-1:/data/x')).toEqual({ device: 'dev-1', path: '/data/x' });
    expect(parseCpOperand('./a:b')).toEqual({ local: './a:b' });
    expect(parseCpOperand('/tmp/a:b')).toEqual({ local: '/tmp/a:b' });
    expect(parseCpOperand('file')).toEqual({ local: 'file' });
    expect(() => parseCpOperand(':/data')).toThrow(/names no device/);
  });

  it('plans an upload or a download and refuses the rest', () => {
    expect(planCopy('./f', 'd:/data/')).toEqual({ direction: 'upload', local: './f', device: 'd', path: '/data/' });
    expect(planCopy('d:/var/log/x', '.')).toEqual({ direction: 'download', device: 'd', path: '/var/log/x', local: '.' });
    expect(() => planCopy('a:/x', 'b:/y')).toThrow(/one device to another/);
    expect(() => planCopy('x', 'y')).toThrow(/one of SRC and DST must be DEVICE:PATH/);
    expect(() => planCopy('x', 'd:data/x')).toThrow(/must be absolute \(e.g. d:\/data\/file\)/);
  });
});
