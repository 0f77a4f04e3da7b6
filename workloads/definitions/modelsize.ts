// Model-size workload (paper 5.2.3 / appendix C, Figure 15): the same hyperparameter grid trained
// with three model sizes, to see how model hopping cost grows with the model (UDAF's JOIN vs CTQ's
// store). The paper used MobileNet (52 MB), ResNet50 (294 MB) and ResNet152 (693 MB) on ImageNet, 8
// configs each, batch 32, 3 epochs. Option `models`:
//   zoo (default)  MobileNetV2 (small; the zoo has no MobileNet V1), ResNet50 (medium), ResNet152
//                  (large) on ImageNet: at paper scale 3.5M, 25.6M and 60.2M parameters; below it the
//                  zoo's members, the ResNets twice as wide at tiny and small (MobileNetV2's
//                  1280-channel head does not shrink, so the sizes would otherwise not keep their order)
//   mlp            three MLP widths on the Criteo data whose sizes keep about the same ratios (at
//                  paper scale 31 MB, 149 MB and 362 MB of float32 weights): CPU-friendly
// Option `size` picks one size (small, medium, large) or all three (default).
import type { ModelConfig, ScaleName } from '../../src/core/workload.js';
import {
  type BenchWorkloadDefinition,
  REGULARIZER_OPTION,
  configLabel,
  numberConfigs,
  product,
  readOptions,
  readRegularizer,
  regularized,
} from '../grid.js';
import { checkScale, criteoDataset, imagenetDataset } from '../presets.js';
import { type ZooArch, zooMember } from '../zoo.js';

export const MODEL_SIZES = ['small', 'medium', 'large'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

/** Hidden widths of the three MLPs per scale (models=mlp). */
export const MODELSIZE_HIDDEN: Record<ScaleName, Record<ModelSize, number[]>> = {
  tiny: { small: [32, 16], medium: [256, 128], large: [1024, 512] },
  small: { small: [256, 128], medium: [1024, 512], large: [2048, 1024] },
  medium: { small: [500, 250], medium: [2000, 1000], large: [4000, 2000] },
  paper: { small: [1000, 500], medium: [4000, 2000], large: [8000, 4000] },
};

/** The CNN of each size (models=zoo), as Figure 15. */
export const MODELSIZE_ARCH: Record<ModelSize, ZooArch> = {
  small: 'mobilenetv2',
  medium: 'resnet50',
  large: 'resnet152',
};

/** The member of a size at a scale: the zoo's, the ResNets twice as wide at tiny and small. */
export function modelsizeMember(size: ModelSize, scale: ScaleName): Pick<ModelConfig, 'arch' | 'width' | 'blocks'> {
  const member = zooMember(MODELSIZE_ARCH[size], scale);
  const widen = size !== 'small' && (scale === 'tiny' || scale === 'small');
  return { ...member, width: widen ? member.width * 2 : member.width };
}

const SHAPE: Record<ScaleName, { learningRate: number[]; l2: number[]; batchSize: number; epochs: number }> = {
  tiny: { learningRate: [1e-3], l2: [1e-4, 1e-5], batchSize: 64, epochs: 2 },
  small: { learningRate: [1e-3, 1e-4], l2: [1e-4, 1e-5], batchSize: 256, epochs: 2 },
  medium: { learningRate: [1e-3, 1e-4, 1e-5, 1e-6], l2: [1e-4, 1e-5], batchSize: 128, epochs: 3 },
  paper: { learningRate: [1e-3, 1e-4, 1e-5, 1e-6], l2: [1e-4, 1e-5], batchSize: 32, epochs: 3 },
};

/** The size of a config of this workload, from its label (mlp-small[...] or mobilenetv2-small ...). */
export function modelSizeOf(config: ModelConfig): ModelSize | undefined {
  const m = /^[a-z0-9]+-(small|medium|large)\b/.exec(config.label);
  return m ? (m[1] as ModelSize) : undefined;
}

export const modelsizeWorkload: BenchWorkloadDefinition = {
  id: 'modelsize',
  description:
    'Model-size drill-down (paper 5.2.3, appendix C, Figure 15): the same lr x l2 grid with MobileNetV2, ResNet50 ' +
    'and ResNet152 on ImageNet (or three MLPs on Criteo)',
  scales: {
    tiny: '3 sizes x 2 configs (lr 1e-3 x l2 {1e-4,1e-5}), batch 64, 2 epochs on imagenet_tiny (or criteo_tiny)',
    small: '3 sizes x 4 configs (lr {1e-3,1e-4} x l2 {1e-4,1e-5}), batch 256, 2 epochs on imagenet_small',
    medium: '3 sizes x 8 configs (lr {1e-3..1e-6} x l2 {1e-4,1e-5}), batch 128, 3 epochs on imagenet_medium',
    paper: '3 sizes x 8 configs, batch 32, 3 epochs (as appendix C) on imagenet_paper (criteo_paper)',
  },
  options: {
    size: { default: 'all', description: 'one of small, medium, large, or all (every size in one run)' },
    models: {
      default: 'zoo',
      description: 'zoo (MobileNetV2, ResNet50, ResNet152 on ImageNet, as the paper) or mlp (three MLPs on Criteo)',
    },
    ...REGULARIZER_OPTION,
  },
  notes: [
    'The report groups configs by the size in their label (mobilenetv2-small / resnet50-medium / resnet152-large, ' +
      'or mlp-small / mlp-medium / mlp-large).',
  ],
  resolve(scale, seed, options) {
    checkScale(scale, 'modelsize');
    const opts = readOptions('modelsize', modelsizeWorkload.options, options);
    const sizes: readonly ModelSize[] = opts.size === 'all' ? MODEL_SIZES : [opts.size as ModelSize];
    if (!sizes.every((s) => (MODEL_SIZES as readonly string[]).includes(s))) {
      throw new Error(
        `modelsize: option size must be one of ${[...MODEL_SIZES, 'all'].join(', ')}, got '${opts.size}'`,
      );
    }
    if (opts.models !== 'zoo' && opts.models !== 'mlp') {
      throw new Error(`modelsize: option models must be zoo or mlp, got '${opts.models}'`);
    }
    const shape = SHAPE[scale];
    const configs: Omit<ModelConfig, 'id'>[] = [];
    for (const size of sizes) {
      for (const row of product({ learningRate: shape.learningRate, l2: shape.l2 })) {
        const hyper = { batchSize: shape.batchSize, learningRate: row.learningRate, l2: row.l2 };
        if (opts.models === 'mlp') {
          const c = { arch: 'mlp' as const, ...hyper, hidden: MODELSIZE_HIDDEN[scale][size] };
          configs.push({ ...c, label: configLabel(c, `mlp-${size}[${c.hidden.join(',')}]`) });
        } else {
          const c = { ...modelsizeMember(size, scale), ...hyper };
          configs.push({ ...c, label: configLabel(c, `${c.arch}-${size}`) });
        }
      }
    }
    const data = opts.models === 'mlp' ? criteoDataset(scale) : imagenetDataset(scale);
    const regularizer = readRegularizer('modelsize', opts.regularizer);
    const numbered = regularized(numberConfigs(configs), regularizer);
    return { id: 'modelsize', scale, ...data, configs: numbered, epochs: shape.epochs, seed };
  },
};
