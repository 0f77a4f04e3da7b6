// LZ4 blocks, as PostgreSQL's TOAST lz4 compression writes them (LZ4_compress_default: a raw
// block, no frame; the raw size is in the varlena header), decoded by the reference C library's
// LZ4_decompress_safe through the `lz4` package's native binding (built from source at install).
// LZ4_decompress_safe never reads or writes outside the buffers it is given and rejects a block
// that is malformed, whose matches reach before the output, or that does not end exactly at the
// input's end. This replaced a hand-written JavaScript decoder that ran 3-4x slower
// (docs/direct-reader.md).
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CompressionError } from './pglz.js';

type Lz4Binding = typeof import('lz4');

let binding: Lz4Binding | undefined;

/** The native binding, loaded on first use (a missing build is an error that says how to fix it). */
export function lz4Binding(): Lz4Binding {
  if (!binding) {
    try {
      binding = createRequire(import.meta.url)('lz4') as Lz4Binding;
    } catch (error) {
      throw new Error(
        `the lz4 package's native module cannot be loaded (${(error as Error).message.split('\n')[0]}); ` +
          'it is compiled when the package installs: run `npm rebuild lz4` (needs make, a C++ compiler and python3)',
      );
    }
  }
  return binding;
}

/**
 * Decompress the block `src[start, end)` into `dest[destStart, destStart + rawSize)`: the output
 * must be exactly rawSize bytes, the whole input consumed.
 */
export function lz4DecompressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dest: Uint8Array,
  destStart: number,
  rawSize: number,
): void {
  if (
    !(
      start >= 0 &&
      start <= end &&
      end <= src.length &&
      destStart >= 0 &&
      rawSize >= 0 &&
      destStart + rawSize <= dest.length
    )
  ) {
    throw new CompressionError('lz4: buffer bounds');
  }
  const input = asBuffer(src);
  const output = asBuffer(dest).subarray(destStart, destStart + rawSize);
  const written = lz4Binding().decodeBlock(input, output, start, end);
  if (written < 0)
    throw new CompressionError(`lz4: malformed block (error at input byte ${-written - 1} of ${end - start})`);
  if (written !== rawSize)
    throw new CompressionError(`lz4: block decompressed to ${written} bytes, expected ${rawSize}`);
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.length);
}

/** One block to decode: src[start, end) into dest[destStart, destStart + rawSize). */
export interface Lz4Job {
  src: Buffer;
  start: number;
  end: number;
  dest: Buffer;
  destStart: number;
  rawSize: number;
}

/**
 * Whether lz4 values are to be decoded on helper threads, in SharedArrayBuffer memory. Measured
 * (docs/direct-reader.md): SharedArrayBuffer memory is not malloc's, so it misses the huge pages
 * that GLIBC_TUNABLES=glibc.malloc.hugetlb=1 gives malloc'd memory; with those, one thread
 * decoding into malloc'd memory costs less than two decoding into shared memory, and without them
 * two threads cost less.
 */
export function sharedDecoding(): boolean {
  return availableParallelism() > 1 && !/glibc\.malloc\.hugetlb=[12]/.test(process.env.GLIBC_TUNABLES ?? '');
}

/** Below this many output bytes a helper thread's round trip is not worth it. */
const PARALLEL_MIN_BYTES = 8 << 20;

/**
 * Decode many blocks, on this thread and on helper threads (one per further core, at most 3):
 * when every job's src is one SharedArrayBuffer and every dest another, the jobs are split by
 * output bytes and the helpers decode their shares in place while this thread decodes its own -
 * the decoding and the page faults of the new output memory spread over the cores. Otherwise
 * all run here. Returns per job undefined or the CompressionError it ended with, and the number
 * of threads that decoded.
 */
export async function lz4DecompressBlocks(
  jobs: Lz4Job[],
): Promise<{ errors: (CompressionError | undefined)[]; threads: number }> {
  const errors = new Array<CompressionError | undefined>(jobs.length);
  const runHere = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const j = jobs[i];
      try {
        lz4DecompressBlock(j.src, j.start, j.end, j.dest, j.destStart, j.rawSize);
      } catch (error) {
        if (!(error instanceof CompressionError)) throw error;
        errors[i] = error;
      }
    }
  };
  const total = jobs.reduce((s, j) => s + j.rawSize, 0);
  const src = jobs[0]?.src.buffer;
  const dest = jobs[0]?.dest.buffer;
  const shareable =
    src instanceof SharedArrayBuffer &&
    dest instanceof SharedArrayBuffer &&
    jobs.every((j) => j.src.buffer === src && j.dest.buffer === dest);
  const pool = shareable && total >= PARALLEL_MIN_BYTES ? helperPool() : [];
  if (pool.length === 0) {
    runHere(0, jobs.length);
    return { errors, threads: jobs.length > 0 ? 1 : 0 };
  }
  // Contiguous shares of about equal output bytes: this thread takes the first.
  const bounds = [0];
  let acc = 0;
  for (let i = 0, share = 1; i < jobs.length && share <= pool.length; i++) {
    acc += jobs[i].rawSize;
    if (acc >= (total * share) / (pool.length + 1)) {
      bounds.push(i + 1);
      share++;
    }
  }
  while (bounds.length < pool.length + 2) bounds.push(jobs.length);
  for (const j of jobs) {
    if (
      !(
        j.start >= 0 &&
        j.start <= j.end &&
        j.end <= j.src.length &&
        j.destStart >= 0 &&
        j.destStart + j.rawSize <= j.dest.length
      )
    ) {
      throw new CompressionError('lz4: buffer bounds');
    }
  }
  const replies = pool.map((helper, h) => {
    const from = bounds[h + 1];
    const to = bounds[h + 2];
    const spec = new Float64Array((to - from) * 4);
    for (let i = from; i < to; i++) {
      const j = jobs[i];
      const k = (i - from) * 4;
      spec[k] = j.src.byteOffset + j.start;
      spec[k + 1] = j.src.byteOffset + j.end;
      spec[k + 2] = j.dest.byteOffset + j.destStart;
      spec[k + 3] = j.rawSize;
    }
    return helper.decode(src as SharedArrayBuffer, dest as SharedArrayBuffer, spec).then((written) => {
      for (let i = from; i < to; i++) {
        const w = written[i - from];
        if (w < 0)
          errors[i] = new CompressionError(
            `lz4: malformed block (error at input byte ${-w - 1} of ${jobs[i].end - jobs[i].start})`,
          );
        else if (w !== jobs[i].rawSize)
          errors[i] = new CompressionError(`lz4: block decompressed to ${w} bytes, expected ${jobs[i].rawSize}`);
      }
    });
  });
  runHere(0, bounds[1]);
  await Promise.all(replies);
  return { errors, threads: pool.length + 1 };
}

// The helper thread: decodes (start, end, destStart, rawSize) quadruples of one shared source
// into one shared destination and answers the bytes written (negative: error) per block.
const HELPER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const lz4 = require(workerData.lz4);
parentPort.on('message', ({ id, src, dest, spec }) => {
  const input = Buffer.from(src);
  const output = Buffer.from(dest);
  const written = new Float64Array(spec.length / 4);
  for (let k = 0; k < spec.length; k += 4) {
    const out = output.subarray(spec[k + 2], spec[k + 2] + spec[k + 3]);
    written[k / 4] = lz4.decodeBlock(input, out, spec[k], spec[k + 1]);
  }
  parentPort.postMessage({ id, written });
});
`;

class Helper {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (w: Float64Array) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  dead = false;

  constructor(lz4Path: string) {
    this.worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { lz4: lz4Path } });
    this.worker.unref();
    this.worker.on('message', ({ id, written }: { id: number; written: Float64Array }) => {
      this.waiting.get(id)?.resolve(written);
      this.waiting.delete(id);
      if (this.waiting.size === 0) this.worker.unref();
    });
    const fail = (error: Error) => {
      this.dead = true;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`lz4 helper thread exited with code ${code}`)));
  }

  decode(src: SharedArrayBuffer, dest: SharedArrayBuffer, spec: Float64Array): Promise<Float64Array> {
    const id = this.nextId++;
    // Referenced while it works, so that a process waiting only on it does not exit.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, src, dest, spec });
    });
  }
}

let helpers: Helper[] | undefined;

function helperPool(): Helper[] {
  if (helpers?.some((h) => h.dead)) helpers = undefined;
  if (!helpers) {
    lz4Binding();
    const count = Math.min(3, Math.max(0, availableParallelism() - 1));
    const lz4Path = createRequire(import.meta.url).resolve('lz4');
    helpers = Array.from({ length: count }, () => new Helper(lz4Path));
  }
  return helpers;
}
