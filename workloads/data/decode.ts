// Decoding a packed buffer (the layout of docs/architecture.md, "Data") in TypeScript.
export interface PackedBuffer {
  n: number;
  /** n x prod(featureShape) float32. */
  x: Float32Array;
  /** n int32 labels. */
  y: Int32Array;
}

export function decodePackedBuffer(n: number, x: Uint8Array, y: Uint8Array, featureShape: number[]): PackedBuffer {
  const per = featureShape.reduce((a, b) => a * b, 1);
  if (x.byteLength !== n * per * 4) throw new Error(`packed x has ${x.byteLength} bytes, expected ${n} x ${per} x 4`);
  if (y.byteLength !== n * 4) throw new Error(`packed y has ${y.byteLength} bytes, expected ${n} x 4`);
  const xs = new Float32Array(n * per);
  const ys = new Int32Array(n);
  const xv = new DataView(x.buffer, x.byteOffset, x.byteLength);
  for (let i = 0; i < xs.length; i++) xs[i] = xv.getFloat32(i * 4, true);
  const yv = new DataView(y.buffer, y.byteOffset, y.byteLength);
  for (let i = 0; i < n; i++) ys[i] = yv.getInt32(i * 4, true);
  return { n, x: xs, y: ys };
}

/** Example i of a decoded buffer. */
export function exampleOf(buffer: PackedBuffer, i: number): { x: Float32Array; y: number } {
  const per = buffer.x.length / buffer.n;
  return { x: buffer.x.subarray(i * per, (i + 1) * per), y: buffer.y[i] };
}
