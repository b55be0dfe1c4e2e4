/** The one rule that names an input's result on every surface (CLI, queue, server, page). */
import { describe, expect, it } from 'vitest';
import { outputKey } from '../../src/results/output-key.js';
import { hashedOutputName } from '../../src/results/safe-name.js';

describe('outputKey', () => {
  it('is the file name without its extension; a leading dot is not an extension', () => {
    expect(outputKey('calls/a.b.wav')).toBe('a.b');
    expect(outputKey('speech16k.wav')).toBe('speech16k');
    expect(outputKey('noext')).toBe('noext');
    expect(outputKey('.wav')).toBe('.wav');
    expect(outputKey('.hidden.wav')).toBe('.hidden');
  });

  it('cuts a name a client sent at / or \\, and takes a URL key from its path', () => {
    expect(outputKey('C:\\Users\\me\\talk.mp3')).toBe('talk');
    expect(outputKey('https://example.org/calls/call-1.mp3?sig=1.2#t=3')).toBe('call-1');
    expect(outputKey('https://example.org/')).toBe('');
  });

  it('keeps a bare file name whole but for its extension (a backslash is a POSIX file-name character)', () => {
    expect(outputKey('x\\y.wav', { bareName: true })).toBe('x\\y');
    expect(outputKey('a.b.c', { bareName: true })).toBe('a.b');
  });
});

describe('hashedOutputName', () => {
  it('is the safe key plus 8 hex digits of the whole input: stable per input, apart for two inputs with one name', () => {
    const a = hashedOutputName(outputKey('https://x/calls/call-1.mp3'), 'https://x/calls/call-1.mp3');
    expect(a).toMatch(/^call-1-[0-9a-f]{8}$/);
    expect(hashedOutputName('call-1', 'https://x/calls/call-1.mp3')).toBe(a);
    expect(hashedOutputName('call-1', 'https://x/other/call-1.mp3')).not.toBe(a);
    expect(hashedOutputName('', '/srv/x')).toMatch(/^input-[0-9a-f]{8}$/);
    expect(hashedOutputName('k'.repeat(300), '/srv/k').length).toBe(80 + 9);
  });
});
