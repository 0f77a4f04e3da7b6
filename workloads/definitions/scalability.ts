// Strong-scaling workload (paper 5.2.1): 8 homogeneous configs (ResNet50, 4 learning rates x 2 L2
// values, batch 32) trained for one epoch on ImageNet. It is meant to be run several times with
// --segments 1, 2, 4 (8 on a larger machine) and compared: Figure 10 plots runtime and the machine
// time of each breakdown component against the cluster size. Option `dataset=criteo` runs the same
// shape with the Criteo MLP instead (CPU-friendly).
import type { ScaleName } from '../../src/core/workload.js';
import {
  type BenchWorkloadDefinition,
  REGULARIZER_OPTION,
  grid,
  readOptions,
  readRegularizer,
  regularized,
} from '../grid.js';
import { checkScale, criteoDataset, imagenetDataset } from '../presets.js';
import { zooShape } from '../zoo.js';
import { CRITEO_HIDDEN } from './criteo.js';

export const SCALABILITY_LEARNING_RATES = [1e-3, 1e-4, 1e-5, 1e-6];
export const SCALABILITY_L2 = [1e-4, 1e-6];
/** The cluster sizes to run it with on one machine (the paper used 1, 2, 4, 8 workers). */
export const SCALABILITY_SEGMENTS = [1, 2, 4];

const BATCH: Record<ScaleName, number> = { tiny: 32, small: 32, medium: 32, paper: 32 };

export const scalabilityWorkload: BenchWorkloadDefinition = {
  id: 'scalability',
  description:
    'Strong scaling (paper 5.2.1): 8 homogeneous ResNet50 configs (4 lr x 2 l2), one epoch; ' +
    'run with --segments 1, 2, 4',
  scales: {
    tiny: '8 configs, 1 epoch on imagenet_tiny',
    small: '8 configs, 1 epoch on imagenet_small',
    medium: '8 configs, 1 epoch on imagenet_medium',
    paper: '8 configs, 1 epoch on imagenet_paper (the paper: 1, 2, 4, 8 GPU workers)',
  },
  options: {
    dataset: { default: 'imagenet', description: 'imagenet (ResNet50, as the paper) or criteo (the Criteo MLP)' },
    ...REGULARIZER_OPTION,
  },
  notes: [
    'Run once per cluster size: bench run --workload scalability --segments N ' +
      `for N in ${SCALABILITY_SEGMENTS.join(', ')}; runtimes exclude ETL.`,
  ],
  resolve(scale, seed, options) {
    checkScale(scale, 'scalability');
    const opts = readOptions('scalability', scalabilityWorkload.options, options);
    const regularizer = readRegularizer('scalability', opts.regularizer);
    const axes = { batchSize: [BATCH[scale]], learningRate: SCALABILITY_LEARNING_RATES, l2: SCALABILITY_L2 };
    if (opts.dataset === 'criteo') {
      const configs = grid({ arch: ['mlp'], ...axes }, { hidden: CRITEO_HIDDEN[scale] });
      const data = criteoDataset(scale);
      return { id: 'scalability', scale, ...data, configs: regularized(configs, regularizer), epochs: 1, seed };
    }
    if (opts.dataset !== 'imagenet')
      throw new Error(`scalability: option dataset must be imagenet or criteo, got '${opts.dataset}'`);
    const configs = grid({ arch: ['resnet50'], ...axes }, zooShape(scale));
    const data = imagenetDataset(scale);
    return { id: 'scalability', scale, ...data, configs: regularized(configs, regularizer), epochs: 1, seed };
  },
};
