// Where raw rows come from: the seeded generators, or real files in the public formats
// (a Criteo TSV, an image class-folder tree). A source says how many rows each split has and
// streams them in a fixed order; row_id = position in that order.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CriteoSpec, ImagenetSpec, ResolvedWorkload } from '../../src/core/workload.js';
import type { CriteoRow, ImageRow } from '../featurize.js';
import { countCriteoRows, readCriteoTsv } from '../formats/criteo-tsv.js';
import { findImageSplits, loadImage, scanImageFolder, type ImageFile } from '../formats/image-folder.js';
import { CriteoGenerator, type Split } from '../generate/criteo.js';
import { ImagenetGenerator } from '../generate/imagenet.js';
import { Permutation, hash32, hashString } from '../random.js';

export type { Split } from '../generate/criteo.js';
export const SPLITS: readonly Split[] = ['train', 'valid'];

interface SourceBase {
  /** 'generated', or a fingerprint of the source files (paths, sizes, modification times). */
  identity: string;
  /** For people: what the rows are. */
  description: string;
  /** Rows per split (may read the files once: call it only when loading). */
  count(): Promise<Record<Split, number>>;
}

export interface CriteoSource extends SourceBase {
  kind: 'criteo';
  rows(split: Split): Iterable<CriteoRow> | AsyncIterable<CriteoRow>;
}

export interface ImageSource extends SourceBase {
  kind: 'imagenet';
  /** Extra facts (class names of a folder source). */
  classes?: string[];
  rows(split: Split): Iterable<ImageRow> | AsyncIterable<ImageRow>;
}

export type RawSource = CriteoSource | ImageSource;

export const GENERATED = 'generated';

export function generatedSource(workload: ResolvedWorkload): RawSource {
  const spec = workload.dataset;
  if (spec.kind === 'criteo') {
    const gen = new CriteoGenerator(spec, workload.seed);
    return {
      kind: 'criteo',
      identity: GENERATED,
      description: `generated Criteo-like rows (seed ${workload.seed})`,
      count: async () => ({ train: spec.trainRows, valid: spec.validRows }),
      rows: (split) => gen.rows(split),
    };
  }
  const gen = new ImagenetGenerator(spec, workload.seed);
  const size = `${spec.imageSize}x${spec.imageSize}`;
  return {
    kind: 'imagenet',
    identity: GENERATED,
    description: `generated ${size} images of ${spec.classes} classes (seed ${workload.seed})`,
    count: async () => ({ train: spec.trainRows, valid: spec.validRows }),
    rows: (split) => gen.rows(split),
  };
}

async function fingerprint(paths: string[], extra: unknown): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify(extra));
  for (const p of paths) {
    const s = await stat(p);
    h.update(`${p}\0${s.size}\0${Math.floor(s.mtimeMs)}\n`);
  }
  return `files:${h.digest('hex').slice(0, 24)}`;
}

/**
 * Rank-based split of n items: item i goes to valid when its rank under a seeded permutation is
 * below `valid`, to train when below `valid + train`, else it is left out.
 */
function splitter(n: number, valid: number, train: number, seed: number): (i: number) => Split | undefined {
  if (n === 0) return () => undefined;
  const perm = new Permutation(n, hash32(seed, hashString('split')));
  return (i) => {
    const r = perm.at(i);
    return r < valid ? 'valid' : r < valid + train ? 'train' : undefined;
  };
}

function proportionalValid(n: number, spec: { trainRows: number; validRows: number }): number {
  return Math.round((n * spec.validRows) / (spec.trainRows + spec.validRows));
}

async function criteoFileSource(path: string, spec: CriteoSpec, seed: number): Promise<CriteoSource> {
  const st = await stat(path);
  if (st.isDirectory()) {
    const names = await readdir(path);
    const pick = (stem: string[]): string | undefined =>
      names.filter((n) => stem.some((s) => n === s || n.startsWith(`${s}.`))).sort()[0];
    const train = pick(['train']);
    const valid = pick(['valid', 'validation', 'val']);
    if (!train || !valid)
      throw new Error(
        `${path}: a Criteo source directory must hold train.{txt,tsv}[.gz] and valid.{txt,tsv}[.gz]; ` +
          `or give one TSV file`,
      );
    const files = { train: join(path, train), valid: join(path, valid) };
    const limits = { train: spec.trainRows, valid: spec.validRows };
    const count = once(async () => ({
      train: await countCriteoRows(files.train, limits.train),
      valid: await countCriteoRows(files.valid, limits.valid),
    }));
    return {
      kind: 'criteo',
      identity: await fingerprint([files.train, files.valid], { limits }),
      description:
        `Criteo TSV ${files.train} (at most ${limits.train} rows) and ${files.valid} ` +
        `(at most ${limits.valid} rows)`,
      count,
      async *rows(split) {
        const counts = await count();
        yield* readCriteoTsv(files[split], counts[split]);
      },
    };
  }
  const limit = spec.trainRows + spec.validRows;
  const plan = once(async () => {
    const n = await countCriteoRows(path, limit);
    const valid = proportionalValid(n, spec);
    return { n, counts: { train: n - valid, valid }, splitOf: splitter(n, valid, n - valid, seed) };
  });
  return {
    kind: 'criteo',
    identity: await fingerprint([path], { limit, ratio: [spec.trainRows, spec.validRows], seed }),
    description:
      `Criteo TSV ${path}: its first ${limit} rows at most, ${(100 * spec.validRows) / limit}% drawn ` +
      `for validation`,
    count: async () => (await plan()).counts,
    async *rows(split) {
      const { n, splitOf } = await plan();
      let i = 0;
      for await (const row of readCriteoTsv(path, n)) if (splitOf(i++) === split) yield row;
    },
  };
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= fn());
}

function sample(files: ImageFile[], cap: number, seed: number): ImageFile[] {
  if (files.length <= cap) return files;
  const keep = splitter(files.length, 0, cap, seed);
  return files.filter((_, i) => keep(i) === 'train');
}

async function* decodeAll(files: ImageFile[], size: number): AsyncGenerator<ImageRow> {
  // Read a few files ahead while decoding the current one.
  const ahead = 8;
  const pending: Promise<Uint8Array>[] = [];
  for (let i = 0; i < files.length; i++) {
    while (pending.length < ahead && i + pending.length < files.length) {
      const next = loadImage(files[i + pending.length].path, size);
      next.catch(() => undefined); // awaited (and so reported) in its turn
      pending.push(next);
    }
    const image = await pending.shift()!;
    yield { label: files[i].label, image };
  }
}

async function imageFolderSource(root: string, spec: ImagenetSpec, seed: number): Promise<ImageSource> {
  const splits = await findImageSplits(root);
  const limitClasses = (names: string[]): string[] => names.slice(0, spec.classes);
  let chosen: Record<Split, ImageFile[]>;
  let classes: string[];
  if (splits) {
    const all = await scanImageFolder(splits.train);
    classes = limitClasses(all.classes);
    const train = await scanImageFolder(splits.train, classes);
    const valid = await scanImageFolder(splits.valid, classes);
    chosen = {
      train: sample(train.files, spec.trainRows, hash32(seed, 1)),
      valid: sample(valid.files, spec.validRows, hash32(seed, 2)),
    };
  } else {
    const all = await scanImageFolder(root);
    classes = limitClasses(all.classes);
    const files = (await scanImageFolder(root, classes)).files;
    const n = Math.min(files.length, spec.trainRows + spec.validRows);
    const valid = proportionalValid(n, spec);
    const splitOf = splitter(files.length, valid, n - valid, seed);
    chosen = { train: [], valid: [] };
    files.forEach((f, i) => {
      const s = splitOf(i);
      if (s) chosen[s].push(f);
    });
  }
  const counts = { train: chosen.train.length, valid: chosen.valid.length };
  return {
    kind: 'imagenet',
    identity: await fingerprint(
      [...chosen.train, ...chosen.valid].map((f) => f.path),
      { classes, size: spec.imageSize, seed },
    ),
    description:
      `image folder ${root}: ${classes.length} classes, ${counts.train} train and ${counts.valid} ` +
      `validation images resized to ${spec.imageSize}x${spec.imageSize}`,
    classes,
    count: async () => counts,
    rows: (split) => decodeAll(chosen[split], spec.imageSize),
  };
}

/** The rows a workload's dataset is made of: generated, or read from `path` in the dataset's real format. */
export async function openSource(workload: ResolvedWorkload, path?: string): Promise<RawSource> {
  if (path === undefined) return generatedSource(workload);
  const abs = resolve(path);
  try {
    await stat(abs);
  } catch {
    throw new Error(`source ${abs} does not exist`);
  }
  return workload.dataset.kind === 'criteo'
    ? criteoFileSource(abs, workload.dataset, workload.seed)
    : imageFolderSource(abs, workload.dataset, workload.seed);
}
