// A packed buffer (docs/architecture.md, "Data"): many examples in one row, as the ETL packs them
// inside the database (MADlib's training_preprocessor_dl): float32 features, labels, and the count.
export interface PackedBuffer {
  n: number;
  x: Uint8Array;
  y: Uint8Array;
}
