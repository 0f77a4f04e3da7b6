// Model-size workload (paper 5.2.3 / appendix C): the same hyperparameter grid trained with three
// model sizes, to see how model hopping cost grows with the model (UDAF's JOIN vs CTQ's store).
// The paper used MobileNet (52 MB), ResNet50 (294 MB) and ResNet152 (693 MB) on ImageNet, 8 configs
// each, batch 32, 3 epochs; we use three MLP widths on the Criteo data whose sizes keep about the
// same ratios (at paper scale 31 MB, 149 MB and 362 MB of float32 weights; checkpoints with Adam
// state are 3x that). Option `size` picks one size (small, medium, large) or all three (default).
import type { ModelConfig, ScaleName } from '../../src/core/workload.js';
import { type BenchWorkloadDefinition, configLabel, numberConfigs, product, readOptions } from '../grid.js';
import { checkScale, criteoDataset } from '../presets.js';

export const MODEL_SIZES = ['small', 'medium', 'large'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

/** Hidden widths of the three MLPs per scale. */
export const MODELSIZE_HIDDEN: Record<ScaleName, Record<ModelSize, number[]>> = {
  tiny: { small: [32, 16], medium: [256, 128], large: [1024, 512] },
  small: { small: [256, 128], medium: [1024, 512], large: [2048, 1024] },
  medium: { small: [500, 250], medium: [2000, 1000], large: [4000, 2000] },
  paper: { small: [1000, 500], medium: [4000, 2000], large: [8000, 4000] },
};

const SHAPE: Record<ScaleName, { learningRate: number[]; l2: number[]; batchSize: number; epochs: number }> = {
  tiny: { learningRate: [1e-3], l2: [1e-4, 1e-5], batchSize: 64, epochs: 2 },
  small: { learningRate: [1e-3, 1e-4], l2: [1e-4, 1e-5], batchSize: 256, epochs: 2 },
  medium: { learningRate: [1e-3, 1e-4, 1e-5, 1e-6], l2: [1e-4, 1e-5], batchSize: 128, epochs: 3 },
  paper: { learningRate: [1e-3, 1e-4, 1e-5, 1e-6], l2: [1e-4, 1e-5], batchSize: 32, epochs: 3 },
};

export function modelSizeOf(config: ModelConfig): ModelSize | undefined {
  const m = /^mlp-(small|medium|large)\b/.exec(config.label);
  return m ? (m[1] as ModelSize) : undefined;
}

export const modelsizeWorkload: BenchWorkloadDefinition = {
  id: 'modelsize',
  description: 'Model-size drill-down (paper 5.2.3, appendix C): the same lr x l2 grid with small, medium and large MLPs on Criteo',
  scales: {
    tiny: '3 sizes x 2 configs (lr 1e-3 x l2 {1e-4,1e-5}), batch 64, 2 epochs on criteo_tiny',
    small: '3 sizes x 4 configs (lr {1e-3,1e-4} x l2 {1e-4,1e-5}), batch 256, 2 epochs on criteo_small',
    medium: '3 sizes x 8 configs (lr {1e-3..1e-6} x l2 {1e-4,1e-5}), batch 128, 3 epochs on criteo_medium',
    paper: '3 sizes x 8 configs, batch 32, 3 epochs (as appendix C) on criteo_paper',
  },
  options: {
    size: { default: 'all', description: 'one of small, medium, large, or all (every size in one run)' },
  },
  notes: ['The report groups configs by the size in their label (mlp-small / mlp-medium / mlp-large).'],
  resolve(scale, seed, options) {
    checkScale(scale, 'modelsize');
    const opts = readOptions('modelsize', modelsizeWorkload.options, options);
    const sizes: readonly ModelSize[] = opts.size === 'all' ? MODEL_SIZES : [opts.size as ModelSize];
    if (!sizes.every((s) => (MODEL_SIZES as readonly string[]).includes(s))) {
      throw new Error(`modelsize: option size must be one of ${[...MODEL_SIZES, 'all'].join(', ')}, got '${opts.size}'`);
    }
    const shape = SHAPE[scale];
    const configs: Omit<ModelConfig, 'id'>[] = [];
    for (const size of sizes) {
      for (const row of product({ learningRate: shape.learningRate, l2: shape.l2 })) {
        const c = { arch: 'mlp' as const, batchSize: shape.batchSize, learningRate: row.learningRate, l2: row.l2, hidden: MODELSIZE_HIDDEN[scale][size] };
        configs.push({ ...c, label: configLabel(c, `mlp-${size}[${c.hidden.join(',')}]`) });
      }
    }
    return { id: 'modelsize', scale, ...criteoDataset(scale), configs: numberConfigs(configs), epochs: shape.epochs, seed };
  },
};
