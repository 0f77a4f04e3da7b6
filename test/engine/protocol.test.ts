import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeFrameBuffer, FrameParser, ProtocolError, readFrames, writeFrame } from '../../src/engine/protocol.js';

const frames = [
  { header: { op: 'hello' }, payload: Buffer.alloc(0) },
  {
    header: { op: 'load', dataset: 'train', note: 'ünïcödé ✓', buffers: [{ n: 2, xBytes: 8, yBytes: 8 }] },
    payload: Buffer.from([...Array(16).keys()]),
  },
  { header: { op: 'x', big: 'y'.repeat(300) }, payload: Buffer.alloc(70_000, 7) },
  { header: {}, payload: Buffer.from('z') },
];
const encoded = Buffer.concat(frames.map((f) => encodeFrameBuffer(f.header, f.payload)));

function chunked(data: Buffer, sizes: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = Math.max(1, sizes(i));
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

describe('engine protocol framing', () => {
  it('encodes u32 LE header length, JSON, u64 LE payload length, payload', () => {
    const buf = encodeFrameBuffer({ op: 'a' }, [Buffer.from('xy'), Buffer.from('z')]);
    const json = JSON.stringify({ op: 'a' });
    expect(buf.readUInt32LE(0)).toBe(json.length);
    expect(buf.toString('utf8', 4, 4 + json.length)).toBe(json);
    expect(buf.readBigUInt64LE(4 + json.length)).toBe(3n);
    expect(buf.subarray(12 + json.length).toString()).toBe('xyz');
  });

  const chunkings: [string, (i: number) => number][] = [
    ['whole', () => encoded.length],
    ['1 byte', () => 1],
    ['3 bytes', () => 3],
    ['primes', (i) => [2, 3, 5, 7, 11, 13, 4093][i % 7]],
    ['pseudo-random', (i) => ((i * 7919) % 9000) + 1],
  ];
  for (const [name, sizes] of chunkings) {
    it(`parses frames split into ${name} chunks`, () => {
      const parser = new FrameParser();
      const got = chunked(encoded, sizes).flatMap((c) => parser.push(c));
      parser.end();
      expect(got.map((f) => f.header)).toEqual(frames.map((f) => f.header));
      got.forEach((f, i) => {
        expect(f.payload.equals(frames[i].payload)).toBe(true);
      });
    });
  }

  it('reads frames from a Readable and rejects a stream that ends mid-frame', async () => {
    const got = [];
    for await (const f of readFrames(Readable.from(chunked(encoded, () => 1000)))) got.push(f);
    expect(got.map((f) => f.header)).toEqual(frames.map((f) => f.header));

    const truncated = Readable.from([encoded.subarray(0, encoded.length - 1)]);
    await expect(async () => {
      for await (const _ of readFrames(truncated)) void _;
    }).rejects.toThrow(ProtocolError);
  });

  it('writes with backpressure and reads back a multi-megabyte payload', async () => {
    const pipe = new PassThrough({ highWaterMark: 16 * 1024 });
    const payload = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i % 251;
    const reading = (async () => {
      const out = [];
      for await (const f of readFrames(pipe)) out.push(f);
      return out;
    })();
    const written = await writeFrame(pipe, { op: 'big' }, [payload.subarray(0, 1000), payload.subarray(1000)]);
    await writeFrame(pipe, { op: 'after' });
    pipe.end();
    const got = await reading;
    expect(written).toBe(encodeFrameBuffer({ op: 'big' }).length + payload.length);
    expect(got.map((f) => f.header.op)).toEqual(['big', 'after']);
    expect(got[0].payload.equals(payload)).toBe(true);
  });

  it("turns the engine's non-finite number strings back into numbers", () => {
    const parser = new FrameParser();
    const [frame] = parser.push(
      encodeFrameBuffer({ a: 'NaN', b: ['Infinity', '-Infinity'], c: 'toString', d: 'NaNa' }),
    );
    expect(frame.header).toEqual({ a: Number.NaN, b: [Infinity, -Infinity], c: 'toString', d: 'NaNa' });
  });

  it('refuses a corrupt header', () => {
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(3, 0);
    bad.write('{{{', 4);
    expect(() => new FrameParser().push(bad)).toThrow(ProtocolError);
  });
});
