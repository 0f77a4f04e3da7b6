// The back-reference copy shared by the pglz and lz4 decoders: `len` bytes from `off` bytes back,
// where the source may overlap the destination (a run repeats the last `off` bytes).

/** Copy the match into dest at dp and return the new write position. Bounds are the caller's. */
export function copyMatch(dest: Uint8Array, dp: number, off: number, len: number): number {
  const from = dp - off;
  if (len <= 16) {
    // Byte by byte, forward: also right when the copy overlaps its source.
    for (let i = 0; i < len; i++) dest[dp + i] = dest[from + i];
    return dp + len;
  }
  if (off >= len) {
    dest.copyWithin(dp, from, from + len);
    return dp + len;
  }
  // Overlap: [from, dp) always holds a whole number of periods, so it can be copied as one piece
  // (the span doubles each time).
  const stop = dp + len;
  while (dp < stop) {
    const piece = Math.min(dp - from, stop - dp);
    dest.copyWithin(dp, from, from + piece);
    dp += piece;
  }
  return dp;
}
