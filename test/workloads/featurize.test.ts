// The featurisation: its definition (buckets, hashing, layout), and the Python packer
// (bench_engine.featurize, run by the in-DBMS aggregates) agreeing with the TypeScript reference
// value for value.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CRITEO_SPECS, IMAGENET_SPECS } from '../../workloads/presets.js';
import { CriteoGenerator } from '../../workloads/generate/criteo.js';
import { ImagenetGenerator } from '../../workloads/generate/imagenet.js';
import {
  catBucket,
  crc32,
  criteoDimension,
  featurizeCriteo,
  featurizeImage,
  intBucket,
  type CriteoRow,
} from '../../workloads/featurize.js';

const ENGINE = join(import.meta.dirname, '..', '..', 'infra', 'engine');
const PYTHON = '/usr/bin/python3';

function python(script: string, input: unknown): unknown {
  const result = spawnSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    env: { ...process.env, PYTHONPATH: ENGINE },
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const PACK_CRITEO =
  `
import sys, json, base64
from bench_engine import featurize
d = json.load(sys.stdin)
rows = d['rows']
n, x, y = featurize.pack_criteo_rows([r['label'] for r in rows], [r['ints'] for r in rows], ` +
  `[r['cats'] for r in rows], d['ib'], d['hb'])
print(json.dumps({'n': n, 'x': base64.b64encode(x).decode(), 'y': base64.b64encode(y).decode()}))
`;

const PACK_IMAGES = `
import sys, json, base64
from bench_engine import featurize
d = json.load(sys.stdin)
images = [base64.b64decode(s) for s in d['images']]
n, x, y = featurize.pack_image_rows(d['labels'], images, d['size'])
print(json.dumps({'n': n, 'x': base64.b64encode(x).decode(), 'y': base64.b64encode(y).decode()}))
`;

function floats(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function ints(b64: string): Int32Array {
  const b = Buffer.from(b64, 'base64');
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe('Criteo featurisation', () => {
  it('buckets integers on 1.5^j - 0.51 boundaries, missing in bucket 0, clipped at the last bucket', () => {
    const b = 50;
    expect(intBucket(null, b)).toBe(0);
    expect(intBucket(-3, b)).toBe(1);
    expect(intBucket(0, b)).toBe(1); // below 1.5^0 - 0.51 = 0.49
    expect(intBucket(1, b)).toBe(3); // >= 0.49 and >= 0.99
    expect(intBucket(2, b)).toBe(4); // >= 1.74
    expect(intBucket(3, b)).toBe(5); // >= 2.865
    expect(intBucket(1e9, b)).toBe(49);
    expect(intBucket(1e9, 4)).toBe(3);
    expect(intBucket(0, 4)).toBe(1);
  });

  it('hashes categories with CRC-32 into buckets 1..H-1, empty in bucket 0', () => {
    expect(crc32('123456789')).toBe(0xcbf43926); // the CRC-32 check value
    for (const s of ['', 'a3f0c8e1', 'ünïcødé', '日本', 'x'.repeat(300)])
      expect(crc32(s)).toBe(zlibCrc32(Buffer.from(s, 'utf8')));
    expect(catBucket('', 8)).toBe(0);
    expect(catBucket('68fd1e64', 8)).toBe(1 + (crc32('68fd1e64') % 7));
  });

  it('lays out 13 one-hot blocks of intBuckets then 26 blocks of hashBuckets', () => {
    const spec = { intBuckets: 4, hashBuckets: 8 };
    const row: CriteoRow = {
      label: 1,
      ints: [null, 0, 5, ...Array(10).fill(null)],
      cats: ['', '68fd1e64', ...Array(24).fill('')],
    };
    const x = featurizeCriteo(row, spec);
    expect(x.length).toBe(criteoDimension(spec));
    expect(x.reduce((a, b) => a + b, 0)).toBe(39);
    expect(x[0 * 4 + 0]).toBe(1);
    expect(x[1 * 4 + 1]).toBe(1);
    expect(x[2 * 4 + 3]).toBe(1);
    expect(x[13 * 4 + 0 * 8 + 0]).toBe(1);
    expect(x[13 * 4 + 1 * 8 + catBucket('68fd1e64', 8)]).toBe(1);
  });

  it('the Python packer gives exactly the TypeScript features and labels', () => {
    for (const [spec, count] of [
      [CRITEO_SPECS.tiny, 300],
      [CRITEO_SPECS.paper, 30],
    ] as const) {
      const rows = [...new CriteoGenerator({ ...spec, trainRows: count }, 5).rows('train')];
      rows[0] = {
        label: 1,
        ints: [null, -3, 0, 1, 2, 3, 1000, 2147483647, null, 7, 8, 9, 10],
        cats: [...Array(25).fill(''), 'ffffffff'],
      };
      const out = python(PACK_CRITEO, { rows, ib: spec.intBuckets, hb: spec.hashBuckets }) as {
        n: number;
        x: string;
        y: string;
      };
      expect(out.n).toBe(rows.length);
      const x = floats(out.x);
      const dim = criteoDimension(spec);
      expect(x.length).toBe(rows.length * dim);
      const expected = new Float32Array(x.length);
      rows.forEach((r, i) => {
        expected.set(featurizeCriteo(r, spec), i * dim);
      });
      expect(Buffer.from(x.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      expect(Array.from(ints(out.y))).toEqual(rows.map((r) => r.label));
    }
  });
});

describe('image featurisation', () => {
  it('turns uint8 HWC into float32 CHW in [0, 1]', () => {
    const size = 2;
    const image = Uint8Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22, 255, 254, 253]);
    const x = featurizeImage(image, size);
    expect(Array.from(x).map((v) => Math.round(v * 255))).toEqual([0, 10, 20, 255, 1, 11, 21, 254, 2, 12, 22, 253]);
  });

  it('the Python packer agrees exactly, for every byte value', () => {
    const size = 16;
    const gen = new ImagenetGenerator(IMAGENET_SPECS.tiny, 2);
    const rows = [...gen.rows('train', 0, 20)];
    // One image holding every byte value.
    rows[0] = { label: 3, image: Uint8Array.from({ length: size * size * 3 }, (_, i) => i % 256) };
    const out = python(PACK_IMAGES, {
      labels: rows.map((r) => r.label),
      images: rows.map((r) => Buffer.from(r.image).toString('base64')),
      size,
    }) as {
      n: number;
      x: string;
      y: string;
    };
    const x = floats(out.x);
    const per = 3 * size * size;
    rows.forEach((r, i) => {
      expect(x.subarray(i * per, (i + 1) * per)).toEqual(featurizeImage(r.image, size));
    });
    expect(Array.from(ints(out.y))).toEqual(rows.map((r) => r.label));
  });
});
