// Real-format loaders on small files the test writes: the Criteo TSV (empty fields, gzip) and an
// image class-folder tree of PNGs and JPEGs.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  countCriteoRows,
  formatCriteoLine,
  parseCriteoLine,
  readCriteoTsv,
} from '../../workloads/formats/criteo-tsv.js';
import {
  decodeImage,
  findImageSplits,
  loadImage,
  resizeToSquare,
  scanImageFolder,
} from '../../workloads/formats/image-folder.js';
import { CriteoGenerator } from '../../workloads/generate/criteo.js';
import { openSource } from '../../workloads/data/sources.js';
import { CRITEO_SPECS } from '../../workloads/presets.js';
import { resolveWorkload } from '../../workloads/index.js';
import type { CriteoRow, ImageRow } from '../../workloads/featurize.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect<T>(it: Iterable<unknown> | AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x as T);
  return out;
}

const LINE = ['1', '5', '', '-1', '0', '', '', '', '', '', '', '', '', '1000', ...Array(25).fill(''), 'a3f0c8e1'].join(
  '\t',
);

describe('Criteo TSV', () => {
  it('parses a line with empty fields', () => {
    const row = parseCriteoLine(LINE);
    expect(row.label).toBe(1);
    expect(row.ints).toEqual([5, null, -1, 0, null, null, null, null, null, null, null, null, 1000]);
    expect(row.cats).toHaveLength(26);
    expect(row.cats.slice(0, 25).every((c) => c === '')).toBe(true);
    expect(row.cats[25]).toBe('a3f0c8e1');
    expect(formatCriteoLine(row)).toBe(LINE);
    expect(parseCriteoLine(LINE + '\r')).toEqual(row);
  });

  it('rejects malformed lines, saying where and why', () => {
    expect(() => parseCriteoLine('1\t2\t3', 'f.tsv:7')).toThrow(/f\.tsv:7: expected 40 tab-separated fields.*found 3/);
    expect(() => parseCriteoLine(LINE.replace(/^1/, '2'), 'x')).toThrow(/label must be 0 or 1/);
    expect(() => parseCriteoLine(LINE.replace('\t5\t', '\t5.5\t'), 'x')).toThrow(/I1 is not an integer/);
  });

  it('streams rows from plain and gzip files, with a limit', async () => {
    const rows = [...new CriteoGenerator(CRITEO_SPECS.tiny, 1).rows('train', 0, 30)];
    const text = rows.map(formatCriteoLine).join('\n') + '\n';
    writeFileSync(join(dir, 'day.tsv'), text);
    writeFileSync(join(dir, 'day.tsv.gz'), gzipSync(text));
    expect(await collect(readCriteoTsv(join(dir, 'day.tsv')))).toEqual(rows);
    expect(await collect(readCriteoTsv(join(dir, 'day.tsv.gz'), 10))).toEqual(rows.slice(0, 10));
    expect(await countCriteoRows(join(dir, 'day.tsv'))).toBe(30);
    expect(await countCriteoRows(join(dir, 'day.tsv.gz'), 12)).toBe(12);
  });

  it('as a source: splits one file into train and validation by a seeded draw', async () => {
    const rows = [...new CriteoGenerator(CRITEO_SPECS.tiny, 1).rows('train', 0, 100)];
    writeFileSync(join(dir, 'hundred.tsv'), rows.map(formatCriteoLine).join('\n') + '\n');
    const workload = resolveWorkload('criteo', 'tiny', 1);
    const source = await openSource(workload, join(dir, 'hundred.tsv'));
    const counts = await source.count();
    expect(counts.train + counts.valid).toBe(100);
    expect(counts.valid).toBe(Math.round((100 * 512) / (2048 + 512)));
    const train = await collect<CriteoRow>(source.rows('train'));
    const valid = await collect<CriteoRow>(source.rows('valid'));
    expect(train).toHaveLength(counts.train);
    expect(valid).toHaveLength(counts.valid);
    const key = (r: CriteoRow) => formatCriteoLine(r);
    expect(new Set([...train, ...valid].map(key))).toEqual(new Set(rows.map(key)));
    expect(source.identity).not.toBe('generated');
    // The same file gives the same fingerprint.
    expect((await openSource(workload, join(dir, 'hundred.tsv'))).identity).toBe(source.identity);
  });
});

function gradient(width: number, height: number, base: [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = base[0];
      data[i + 1] = base[1];
      data[i + 2] = Math.round((255 * x) / Math.max(1, width - 1));
      data[i + 3] = 255;
    }
  }
  return data;
}

function writePng(path: string, width: number, height: number, base: [number, number, number]): void {
  const png = new PNG({ width, height });
  png.data = Buffer.from(gradient(width, height, base));
  writeFileSync(path, PNG.sync.write(png));
}

function writeJpeg(path: string, width: number, height: number, base: [number, number, number]): void {
  writeFileSync(path, jpeg.encode({ data: Buffer.from(gradient(width, height, base)), width, height }, 95).data);
}

describe('image folders', () => {
  it('decodes PNG and JPEG and resizes to size x size RGB', () => {
    writePng(join(dir, 'a.png'), 8, 8, [200, 10, 0]);
    writeJpeg(join(dir, 'b.jpg'), 16, 12, [10, 200, 0]);
    const png = decodeImage(
      Buffer.from(
        PNG.sync.write(
          Object.assign(new PNG({ width: 2, height: 1 }), { data: Buffer.from([1, 2, 3, 255, 4, 5, 6, 255]) }),
        ),
      ),
    );
    expect(png).toMatchObject({ width: 2, height: 1 });
    expect(Array.from(png.data)).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect(() => decodeImage(Buffer.from('GIF89a....'), 'x.gif')).toThrow(/neither a PNG nor a JPEG/);
  });

  it('resizes bilinearly after a centre crop', async () => {
    // A 4x2 image: the centre 2x2 square is kept.
    const data = new Uint8Array(4 * 2 * 4);
    for (let x = 0; x < 4; x++) for (let y = 0; y < 2; y++) data.set([x * 10, y * 100, 7, 255], (y * 4 + x) * 4);
    const out = resizeToSquare({ width: 4, height: 2, data }, 2);
    expect(Array.from(out)).toEqual([10, 0, 7, 20, 0, 7, 10, 100, 7, 20, 100, 7]);
    // Down-scaling a uniform image keeps its colour.
    writePng(join(dir, 'flat.png'), 10, 10, [30, 60, 90]);
    const small = await loadImage(join(dir, 'flat.png'), 4);
    expect(small.length).toBe(4 * 4 * 3);
    expect(small[0]).toBe(30);
    expect(small[1]).toBe(60);
  });

  it('scans class folders and loads them as a source split into train and validation', async () => {
    const root = join(dir, 'images');
    const classes = ['cat', 'dog', 'eel'];
    classes.forEach((c, k) => {
      mkdirSync(join(root, c), { recursive: true });
      for (let i = 0; i < 5; i++) {
        if (i % 2) writePng(join(root, c, `img${i}.png`), 20, 20, [k * 100, 50, 0]);
        else writeJpeg(join(root, c, `img${i}.JPEG`), 24, 20, [k * 100, 50, 0]);
      }
    });
    writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
    const scanned = await scanImageFolder(root);
    expect(scanned.classes).toEqual(classes);
    expect(scanned.files).toHaveLength(15);
    expect(await findImageSplits(root)).toBeUndefined();

    const workload = resolveWorkload('imagenet', 'tiny', 1); // 16x16, 4 classes
    const source = await openSource(workload, root);
    const counts = await source.count();
    expect(counts.train + counts.valid).toBe(15);
    expect(counts.valid).toBe(Math.round((15 * 256) / (1024 + 256)));
    const rows = [
      ...(await collect<ImageRow>(source.rows('train'))),
      ...(await collect<ImageRow>(source.rows('valid'))),
    ];
    expect(rows).toHaveLength(15);
    for (const r of rows) {
      expect(r.image.length).toBe(16 * 16 * 3);
      // The red channel tells the class (JPEG is lossy: allow a little).
      expect(Math.abs(r.image[0] - r.label * 100)).toBeLessThan(8);
    }
    expect(new Set(rows.map((r) => r.label))).toEqual(new Set([0, 1, 2]));
  });

  it('uses train/ and val/ folders when the tree has them', async () => {
    const root = join(dir, 'split');
    for (const split of ['train', 'val']) {
      for (const c of ['a', 'b']) {
        mkdirSync(join(root, split, c), { recursive: true });
        for (let i = 0; i < (split === 'train' ? 3 : 1); i++)
          writePng(join(root, split, c, `${i}.png`), 4, 4, [c === 'a' ? 0 : 250, 0, 0]);
      }
    }
    expect(await findImageSplits(root)).toEqual({ train: join(root, 'train'), valid: join(root, 'val') });
    const source = await openSource(resolveWorkload('imagenet', 'tiny', 1), root);
    expect(await source.count()).toEqual({ train: 6, valid: 2 });
    const valid = await collect<ImageRow>(source.rows('valid'));
    expect(valid.map((r) => r.label)).toEqual([0, 1]);
    expect(valid[1].image[0]).toBe(250);
  });
});
