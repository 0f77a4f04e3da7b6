// Criteo, Table 5: a hyperparameter-tuning-only grid over a 3-layer MLP (1000 + 500 hidden units
// at paper scale): batch {32, 64, 256, 512} x learning rate {1e-3, 1e-4} x L2 {1e-4, 1e-5} = 16
// configs, 5 epochs.
import type { ScaleName } from '../../src/core/workload.js';
import {
  type BenchWorkloadDefinition,
  REGULARIZER_OPTION,
  grid,
  readOptions,
  readRegularizer,
  regularized,
} from '../grid.js';
import { CRITEO_SPECS, checkScale, criteoDataset } from '../presets.js';

/** Table 5, Criteo row. */
export const CRITEO_GRID = {
  arch: ['mlp'],
  batchSize: [32, 64, 256, 512],
  learningRate: [1e-3, 1e-4],
  l2: [1e-4, 1e-5],
} as const;

/** MLP hidden widths per scale (the paper's 1000-500 at paper scale). */
export const CRITEO_HIDDEN: Record<ScaleName, number[]> = {
  tiny: [32, 16],
  small: [128, 64],
  medium: [512, 256],
  paper: [1000, 500],
};

const EPOCHS: Record<ScaleName, number> = { tiny: 2, small: 3, medium: 5, paper: 5 };

export const criteoWorkload: BenchWorkloadDefinition = {
  id: 'criteo',
  description:
    'Criteo click prediction, Table 5: MLP, batch {32,64,256,512} x lr {1e-3,1e-4} x l2 {1e-4,1e-5} = 16 configs, ' +
    '5 epochs at paper scale',
  scales: {
    tiny:
      `4 configs (batch {32,64} x lr 1e-3 x l2 {1e-4,1e-5}), ` +
      `MLP [32,16], 2 epochs, ${CRITEO_SPECS.tiny.trainRows} rows, 4 int / 8 hash buckets`,
    small: `16 configs, MLP [128,64], 3 epochs, ${CRITEO_SPECS.small.trainRows} rows, 10 int / 32 hash buckets`,
    medium: `16 configs, MLP [512,256], 5 epochs, ${CRITEO_SPECS.medium.trainRows} rows, 20 int / 64 hash buckets`,
    paper:
      '16 configs, MLP [1000,500], 5 epochs, 100M rows, 50 int / 256 hash buckets (7306 features): ' +
      'needs the real Criteo TSV (--source) and a cluster',
  },
  options: { ...REGULARIZER_OPTION },
  notes: [],
  resolve(scale, seed, options) {
    checkScale(scale, 'criteo');
    const opts = readOptions('criteo', criteoWorkload.options, options);
    // tiny: the larger learning rate of the grid and the small batches, so 2 epochs of ~2k rows visibly learn.
    const axes = scale === 'tiny' ? { ...CRITEO_GRID, batchSize: [32, 64], learningRate: [1e-3] } : CRITEO_GRID;
    return {
      id: 'criteo',
      scale,
      ...criteoDataset(scale),
      configs: regularized(grid(axes, { hidden: CRITEO_HIDDEN[scale] }), readRegularizer('criteo', opts.regularizer)),
      epochs: EPOCHS[scale],
      seed,
    };
  },
};
