import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter, splitLines } from '../../src/text/lines.ts';

type Seen = { text: string; overlong: boolean }[];

function collector(): { seen: Seen; onLine: (b: Buffer, s: number, e: number, o: boolean) => void } {
  const seen: Seen = [];
  return { seen, onLine: (b, s, e, o) => void seen.push({ text: b.toString('latin1', s, e), overlong: o }) };
}

const texts = (seen: Seen) => seen.map((l) => l.text);

test('LF and CRLF end lines; the CR before an LF is dropped, any other CR kept; blank lines count', () => {
  const { seen, onLine } = collector();
  const r = splitLines(Buffer.from('a\nb\r\n\n\r\nc\rd\n\r\r\n'), onLine);
  assert.deepEqual(texts(seen), ['a', 'b', '', '', 'c\rd', '\r']);
  assert.deepEqual(r, { lines: 6, torn: false });
});

test('a last line without LF: reported, handed over only when asked, numbered after the others', () => {
  let c = collector();
  assert.deepEqual(splitLines(Buffer.from('a\nhalf'), c.onLine), { lines: 1, torn: true });
  assert.deepEqual(texts(c.seen), ['a']);
  c = collector();
  assert.deepEqual(splitLines(Buffer.from('a\nhalf\r'), c.onLine, true), { lines: 2, torn: true });
  assert.deepEqual(texts(c.seen), ['a', 'half']);
  c = collector();
  assert.deepEqual(splitLines(Buffer.alloc(0), c.onLine, true), { lines: 0, torn: false });
  assert.deepEqual(c.seen, []);
});

test('chunks cut anywhere (inside a line, between CR and LF) give the lines of the whole (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\r', ' ') }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 10 }),
      (lines, finalLf, cuts) => {
        const text = lines.join('\n') + (finalLf ? '\n' : '');
        const whole = collector();
        const wholeResult = splitLines(Buffer.from(text, 'latin1'), whole.onLine, true);
        const parts = collector();
        const splitter = new LineSplitter(parts.onLine);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const p of [...points, text.length]) {
          splitter.push(Buffer.from(text.slice(from, p), 'latin1'));
          from = p;
        }
        const torn = splitter.end(true);
        assert.deepEqual(parts.seen, whole.seen);
        assert.equal(torn, wholeResult.torn);
        assert.equal(splitter.lines, wholeResult.lines);
        // Without a final LF, an empty last line is no line at all.
        const expected = !finalLf && lines.at(-1) === '' ? lines.slice(0, -1) : lines;
        assert.deepEqual(
          texts(whole.seen),
          expected.map((l) => l.replace(/\r$/, '')),
        );
      },
    ),
  );
});

test('lines longer than maxLine come as their first maxLine bytes, flagged, in one chunk or across many', () => {
  const long = 'x'.repeat(30) + 'END';
  for (const size of [1, 2, 7, 100]) {
    const { seen, onLine } = collector();
    const splitter = new LineSplitter(onLine, 10);
    const text = Buffer.from(`short\n${long}\n0123456789\n0123456789\r\n${long}`, 'latin1');
    for (let at = 0; at < text.length; at += size) splitter.push(text.subarray(at, at + size));
    assert.equal(splitter.end(true), true);
    assert.deepEqual(
      seen,
      [
        { text: 'short', overlong: false },
        { text: 'x'.repeat(10), overlong: true },
        { text: '0123456789', overlong: false },
        // the CR counts towards the length: 11 bytes
        { text: '0123456789', overlong: true },
        { text: 'x'.repeat(10), overlong: true },
      ],
      `chunks of ${size}`,
    );
  }
});

test('a line of a megabyte in small chunks keeps memory bounded by maxLine', () => {
  let carried = 0;
  const splitter = new LineSplitter((b, s, e) => void (carried = Math.max(carried, b.length, e - s)), 80);
  const chunk = Buffer.alloc(1000, 0x61);
  for (let i = 0; i < 1000; i++) splitter.push(chunk);
  splitter.push(Buffer.from('\n'));
  assert.equal(splitter.lines, 1);
  assert.ok(carried <= 80, String(carried));
});

test('a handler returning false stops the splitting: no more lines, now or later', () => {
  const seen: string[] = [];
  const splitter = new LineSplitter((b, s, e) => {
    seen.push(b.toString('latin1', s, e));
    return seen.length < 2;
  });
  assert.equal(splitter.push(Buffer.from('a\nb\nc\nd')), false);
  assert.equal(splitter.push(Buffer.from('\ne\n')), false);
  assert.equal(splitter.end(true), false);
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(splitter.lines, 2);
});

test('maxLine must be at least 1', () => {
  assert.throws(() => new LineSplitter(() => {}, 0), RangeError);
});
