// ImageNet, Table 5: {VGG16, ResNet50} x batch {32, 256} x learning rate {1e-4, 1e-6} x L2 {1e-4,
// 1e-6} = 16 configs, 10 epochs, 112 x 112 x 3 images of 1000 classes. At paper scale the models are
// torchvision's VGG16 (138.4M parameters) and ResNet50 (25.6M); below it, narrower and shallower
// members of the same families (workloads/zoo.ts).
import type { ScaleName } from '../../src/core/workload.js';
import {
  type BenchWorkloadDefinition,
  REGULARIZER_OPTION,
  grid,
  readOptions,
  readRegularizer,
  regularized,
} from '../grid.js';
import { IMAGENET_SPECS, checkScale, imagenetDataset } from '../presets.js';
import { zooMember, zooShape } from '../zoo.js';

/** Table 5, ImageNet row. */
export const IMAGENET_GRID = {
  arch: ['vgg16', 'resnet50'],
  batchSize: [32, 256],
  learningRate: [1e-4, 1e-6],
  l2: [1e-4, 1e-6],
} as const;

const EPOCHS: Record<ScaleName, number> = { tiny: 2, small: 3, medium: 5, paper: 10 };

function describe(scale: ScaleName, configs: string): string {
  const s = IMAGENET_SPECS[scale];
  const members = IMAGENET_GRID.arch.map((arch) => {
    const m = zooMember(arch, scale);
    return `${arch} width ${m.width} blocks [${m.blocks.join(',')}]`;
  });
  const images = `${s.trainRows} images ${s.imageSize}x${s.imageSize}x3 of ${s.classes} classes`;
  return `${configs}, ${members.join(' and ')}, ${EPOCHS[scale]} epochs, ${images}`;
}

export const imagenetWorkload: BenchWorkloadDefinition = {
  id: 'imagenet',
  description:
    'ImageNet, Table 5: {VGG16, ResNet50} x batch {32,256} x lr {1e-4,1e-6} x l2 {1e-4,1e-6} = 16 configs, ' +
    '10 epochs at paper scale',
  scales: {
    tiny: describe('tiny', '4 configs ({vgg16,resnet50} x batch 32 x lr 1e-3 x l2 {1e-4,1e-6})'),
    small: describe('small', '16 configs'),
    medium: describe('medium', '16 configs'),
    paper: `${describe('paper', '16 configs')}: needs the real ImageNet class-folder tree (--source) and a GPU cluster`,
  },
  options: { ...REGULARIZER_OPTION },
  notes: [],
  resolve(scale, seed, options) {
    checkScale(scale, 'imagenet');
    const opts = readOptions('imagenet', imagenetWorkload.options, options);
    // tiny: batch 32 and a learning rate of 1e-3 (10x the grid's largest) so 2 epochs of 1k images visibly learn.
    const axes = scale === 'tiny' ? { ...IMAGENET_GRID, batchSize: [32], learningRate: [1e-3] } : IMAGENET_GRID;
    const configs = grid(axes, zooShape(scale));
    return {
      id: 'imagenet',
      scale,
      ...imagenetDataset(scale),
      configs: regularized(configs, readRegularizer('imagenet', opts.regularizer)),
      epochs: EPOCHS[scale],
      seed,
    };
  },
};
