// Data page checksums (storage/checksum_impl.h): FNV-1a-like hash over the page as 32 parallel
// columns of 32-bit words, with pd_checksum taken as zero, xor the block number, reduced to 16 bits
// plus one. Used when the cluster runs with data_checksums = on: a page whose checksum does not
// match was read torn (or is corrupt), and is read again.

const N_SUMS = 32;
const FNV_PRIME = 16777619;
const BASE_OFFSETS = new Uint32Array([
  0x5b1f36e9, 0xb8525960, 0x02ab50aa, 0x1de66d2a, 0x79ff467a, 0x9bb9f8a3, 0x217e7cd2, 0x83e13d2c, 0xf8d4474f,
  0xe39eb970, 0x42c6ae16, 0x993216fa, 0x7b093b5d, 0x98daff3c, 0xf718902a, 0x0b1c9cdb, 0xe58f764b, 0x187636bc,
  0x5d7b3bb1, 0xe73de7de, 0x92bec979, 0xcca6c0b2, 0x304a0979, 0x85aa43d4, 0x783125bb, 0x6ca8eaa2, 0xe407eac6,
  0x4b5cfc3e, 0x9fbf8c76, 0x15ca20be, 0xf2ca9fd3, 0x959bd756,
]);

const sums = new Uint32Array(N_SUMS);

let scratch = new Uint32Array(2048);

/** pg_checksum_page for the page at buf[p, p + blockSize) and its block number in the fork. */
export function pageChecksum(buf: Buffer, p: number, blockSize: number, blockNumber: number): number {
  const words = blockSize >>> 2;
  let view: Uint32Array;
  if ((buf.byteOffset + p) % 4 === 0) {
    view = new Uint32Array(buf.buffer, buf.byteOffset + p, words);
  } else {
    if (scratch.length < words) scratch = new Uint32Array(words);
    view = scratch;
    for (let w = 0; w < words; w++) view[w] = buf.readUInt32LE(p + w * 4);
  }
  sums.set(BASE_OFFSETS);
  for (let i = 0; i < words; i += N_SUMS) {
    for (let j = 0; j < N_SUMS; j++) {
      let value = view[i + j];
      // Word 2 holds pd_checksum (bytes 8-9) and pd_flags (10-11): the checksum counts as zero.
      if (i + j === 2) value &= 0xffff0000;
      const tmp = (sums[j] ^ value) >>> 0;
      sums[j] = Math.imul(tmp, FNV_PRIME) ^ (tmp >>> 17);
    }
  }
  for (let round = 0; round < 2; round++) {
    for (let j = 0; j < N_SUMS; j++) {
      const tmp = sums[j] >>> 0;
      sums[j] = Math.imul(tmp, FNV_PRIME) ^ (tmp >>> 17);
    }
  }
  let result = 0;
  for (let j = 0; j < N_SUMS; j++) result ^= sums[j];
  result = (result ^ blockNumber) >>> 0;
  return (result % 65535) + 1;
}
