// LZ4 block format decoder (what PostgreSQL's TOAST lz4 compression writes with
// LZ4_compress_default and reads with LZ4_decompress_safe). Written here rather than taken from
// lz4js because lz4js's decompressBlock does no bounds checks (a corrupt stream writes or reads
// silently past the buffers) and copies literals byte by byte.
//
// A block is a sequence of sequences: a token byte (high nibble = literal count, low nibble =
// match length - 4; a nibble of 15 continues with bytes of 255 until one below 255), the
// literals, then a 2-byte little-endian offset (1..65535) and the match. The last sequence has
// literals only.
import { CompressionError } from './pglz.js';
import { copyMatch } from './match-copy.js';

export function lz4DecompressBlock(src: Uint8Array, start: number, end: number, dest: Uint8Array, destStart: number, rawSize: number): void {
  let sp = start;
  let dp = destStart;
  const destEnd = destStart + rawSize;
  if (end > src.length || destEnd > dest.length) throw new CompressionError('lz4: buffer bounds');
  for (;;) {
    if (sp >= end) throw new CompressionError('lz4: truncated block');
    const token = src[sp++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (sp >= end) throw new CompressionError('lz4: truncated literal length');
        b = src[sp++];
        literals += b;
      } while (b === 255);
    }
    if (literals > 0) {
      if (sp + literals > end || dp + literals > destEnd) throw new CompressionError('lz4: literals run past the block');
      if (literals <= 32) {
        for (let i = 0; i < literals; i++) dest[dp + i] = src[sp + i];
      } else {
        dest.set(src.subarray(sp, sp + literals), dp);
      }
      sp += literals;
      dp += literals;
    }
    if (sp === end) break; // the last sequence: literals only
    if (sp + 2 > end) throw new CompressionError('lz4: truncated match offset');
    const off = src[sp] | (src[sp + 1] << 8);
    sp += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (sp >= end) throw new CompressionError('lz4: truncated match length');
        b = src[sp++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (off === 0 || off > dp - destStart) throw new CompressionError(`lz4: match offset ${off} outside the output written so far`);
    if (dp + len > destEnd) throw new CompressionError('lz4: match runs past the output');
    dp = copyMatch(dest, dp, off, len);
  }
  if (dp !== destEnd) throw new CompressionError(`lz4: block decompressed to ${dp - destStart} bytes, expected ${rawSize}`);
}
