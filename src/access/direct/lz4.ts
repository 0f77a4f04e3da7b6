// LZ4 blocks, as PostgreSQL's TOAST lz4 compression writes them (LZ4_compress_default: a raw
// block, no frame; the raw size is in the varlena header), decoded by the reference C library's
// LZ4_decompress_safe through the `lz4` package's native binding (built from source at install).
// LZ4_decompress_safe never reads or writes outside the buffers it is given and rejects a block
// that is malformed, whose matches reach before the output, or that does not end exactly at the
// input's end. This replaced a hand-written JavaScript decoder that ran 3-4x slower
// (docs/direct-reader.md).
import { createRequire } from 'node:module';
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
export function lz4DecompressBlock(src: Uint8Array, start: number, end: number, dest: Uint8Array, destStart: number, rawSize: number): void {
  if (!(start >= 0 && start <= end && end <= src.length && destStart >= 0 && rawSize >= 0 && destStart + rawSize <= dest.length)) {
    throw new CompressionError('lz4: buffer bounds');
  }
  const input = asBuffer(src);
  const output = asBuffer(dest).subarray(destStart, destStart + rawSize);
  const written = lz4Binding().decodeBlock(input, output, start, end);
  if (written < 0) throw new CompressionError(`lz4: malformed block (error at input byte ${-written - 1} of ${end - start})`);
  if (written !== rawSize) throw new CompressionError(`lz4: block decompressed to ${written} bytes, expected ${rawSize}`);
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.length);
}
