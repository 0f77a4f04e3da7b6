// ImageNet, Table 5: {VGG16-like, ResNet50-like} x batch {32, 256} x learning rate {1e-4, 1e-6}
// x L2 {1e-4, 1e-6} = 16 configs, 10 epochs, 112 x 112 x 3 images of 1000 classes.
import type { ScaleName } from '../../src/core/workload.js';
import { type BenchWorkloadDefinition, grid } from '../grid.js';
import { IMAGENET_SPECS, checkScale, imagenetDataset } from '../presets.js';

/** Table 5, ImageNet row. */
export const IMAGENET_GRID = {
  arch: ['vgg', 'resnet'],
  batchSize: [32, 256],
  learningRate: [1e-4, 1e-6],
  l2: [1e-4, 1e-6],
} as const;

/** Base channel width of the CNNs per scale (64 is VGG16's and ResNet50's). */
export const CNN_WIDTH: Record<ScaleName, number> = { tiny: 8, small: 8, medium: 16, paper: 64 };

const EPOCHS: Record<ScaleName, number> = { tiny: 2, small: 3, medium: 5, paper: 10 };

function describe(scale: ScaleName, configs: string): string {
  const s = IMAGENET_SPECS[scale];
  return `${configs}, width ${CNN_WIDTH[scale]}, ${EPOCHS[scale]} epochs, ${s.trainRows} images ${s.imageSize}x${s.imageSize}x3 of ${s.classes} classes`;
}

export const imagenetWorkload: BenchWorkloadDefinition = {
  id: 'imagenet',
  description: 'ImageNet, Table 5: {VGG16-like, ResNet50-like} x batch {32,256} x lr {1e-4,1e-6} x l2 {1e-4,1e-6} = 16 configs, 10 epochs at paper scale',
  scales: {
    tiny: describe('tiny', '4 configs ({vgg,resnet} x batch 32 x lr 1e-3 x l2 {1e-4,1e-6})'),
    small: describe('small', '16 configs'),
    medium: describe('medium', '16 configs'),
    paper: `${describe('paper', '16 configs')}: needs the real ImageNet class-folder tree (--source) and a GPU cluster`,
  },
  options: {},
  notes: [],
  resolve(scale, seed) {
    checkScale(scale, 'imagenet');
    // tiny: batch 32 and a learning rate of 1e-3 (10x the grid's largest) so 2 epochs of 1k images visibly learn.
    const axes = scale === 'tiny' ? { ...IMAGENET_GRID, batchSize: [32], learningRate: [1e-3] } : IMAGENET_GRID;
    return {
      id: 'imagenet',
      scale,
      ...imagenetDataset(scale),
      configs: grid(axes, { width: CNN_WIDTH[scale] }),
      epochs: EPOCHS[scale],
      seed,
    };
  },
};
