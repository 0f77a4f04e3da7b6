// Dataset sizes per scale preset (docs/architecture.md, "Data"). Workloads on the same data at the same scale
// share one dataset (and so one set of tables): its name is `<kind>_<scale>`.
//
// Rows per buffer are chosen so a packed buffer is about 0.5-4 MB of float32 features
// (tiny ImageNet buffers are a little under that so a segment still gets several of them).
//
// `paper` is the size of Table 5's datasets. Generating it works but is not meaningful on one
// machine (100M Criteo rows, 1.28M 112x112 images): it is meant for real data (`--source`, the
// public Criteo TSV and an ImageNet class-folder tree) on a multi-host cluster.
import type { CriteoSpec, ImagenetSpec, ScaleName } from '../src/core/workload.js';
import { SCALES } from '../src/core/workload.js';

export const CRITEO_SPECS: Record<ScaleName, CriteoSpec> = {
  // 260 features; 512 rows = 0.53 MB per buffer.
  tiny: {
    kind: 'criteo',
    trainRows: 2048,
    validRows: 512,
    intBuckets: 4,
    hashBuckets: 8,
    rowsPerBuffer: 512,
    labelNoise: 0.05,
  },
  // 962 features; 512 rows = 1.97 MB.
  small: {
    kind: 'criteo',
    trainRows: 40_000,
    validRows: 8_000,
    intBuckets: 10,
    hashBuckets: 32,
    rowsPerBuffer: 512,
    labelNoise: 0.05,
  },
  // 1924 features; 256 rows = 1.97 MB.
  medium: {
    kind: 'criteo',
    trainRows: 400_000,
    validRows: 40_000,
    intBuckets: 20,
    hashBuckets: 64,
    rowsPerBuffer: 256,
    labelNoise: 0.05,
  },
  // 7306 features (13 x 50 + 26 x 256, the paper's artifact); 128 rows = 3.74 MB. The paper uses
  // 100M Criteo rows; it does not state the validation size: 10M (10%) is our choice.
  paper: {
    kind: 'criteo',
    trainRows: 100_000_000,
    validRows: 10_000_000,
    intBuckets: 50,
    hashBuckets: 256,
    rowsPerBuffer: 128,
    labelNoise: 0.05,
  },
};

export const IMAGENET_SPECS: Record<ScaleName, ImagenetSpec> = {
  // 3 x 16 x 16 floats = 3 KB per image; 256 images = 0.79 MB.
  tiny: {
    kind: 'imagenet',
    trainRows: 1024,
    validRows: 256,
    imageSize: 16,
    classes: 4,
    rowsPerBuffer: 256,
    labelNoise: 0.05,
  },
  // 12 KB per image; 128 images = 1.57 MB.
  small: {
    kind: 'imagenet',
    trainRows: 4096,
    validRows: 1024,
    imageSize: 32,
    classes: 10,
    rowsPerBuffer: 128,
    labelNoise: 0.05,
  },
  // 48 KB per image; 64 images = 3.1 MB.
  medium: {
    kind: 'imagenet',
    trainRows: 50_000,
    validRows: 5_000,
    imageSize: 64,
    classes: 100,
    rowsPerBuffer: 64,
    labelNoise: 0.05,
  },
  // ILSVRC-2012: 1,281,167 training and 50,000 validation images, 1000 classes, at 112 x 112 x 3
  // as in the paper; 147 KB per image, 16 images = 2.4 MB.
  paper: {
    kind: 'imagenet',
    trainRows: 1_281_167,
    validRows: 50_000,
    imageSize: 112,
    classes: 1000,
    rowsPerBuffer: 16,
    labelNoise: 0.05,
  },
};

export function criteoDataset(scale: ScaleName): { datasetName: string; dataset: CriteoSpec } {
  return { datasetName: `criteo_${scale}`, dataset: { ...CRITEO_SPECS[scale] } };
}

export function imagenetDataset(scale: ScaleName): { datasetName: string; dataset: ImagenetSpec } {
  return { datasetName: `imagenet_${scale}`, dataset: { ...IMAGENET_SPECS[scale] } };
}

export function isScale(value: string): value is ScaleName {
  return (SCALES as readonly string[]).includes(value);
}

export function checkScale(scale: string, workloadId: string): ScaleName {
  if (!isScale(scale))
    throw new Error(`Unknown scale '${scale}' for workload '${workloadId}'. Valid scales: ${SCALES.join(', ')}`);
  return scale;
}
