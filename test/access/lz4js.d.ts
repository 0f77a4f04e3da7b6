// lz4js ships no types; the tests use its block compressor to make test streams.
declare module 'lz4js' {
  export function compressBound(n: number): number;
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
}
