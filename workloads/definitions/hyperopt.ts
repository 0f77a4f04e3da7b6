// The Hyperopt workload of Figure 12 and Table 7 (paper 5.2.4): a search instead of a grid. Its
// configs are sampled from {ResNet18, ResNet34} x learning rate log-uniform in [1e-5, 1e-1] x weight
// decay (L2) {1e-4, 1e-6} x batch size in [16, 256] (log-uniform integers) by TPE (Optuna's
// TPESampler; the paper used Hyperopt's TPE), 32 configs with 8 in flight at paper scale, on the
// ImageNet data. Options choose the searcher (tpe, random, asha) and its sizes (docs/search.md).
import type { SearchSpace, SearchSpec } from '../../src/core/search.js';
import type { ModelConfig, ScaleName } from '../../src/core/workload.js';
import { type BenchWorkloadDefinition, REGULARIZER_OPTION, exp, readOptions, readRegularizer } from '../grid.js';
import { IMAGENET_SPECS, checkScale, imagenetDataset } from '../presets.js';
import { isZooArch, zooMember } from '../zoo.js';

/** The paper's space. */
export const HYPEROPT_SPACE: SearchSpace = {
  arch: { kind: 'choice', values: ['resnet18', 'resnet34'] },
  learningRate: { kind: 'float', low: 1e-5, high: 1e-1, log: true },
  l2: { kind: 'choice', values: [1e-4, 1e-6] },
  batchSize: { kind: 'int', low: 16, high: 256, log: true },
};

export const HYPEROPT_SEARCHERS = ['tpe', 'random', 'asha'] as const;

interface Size {
  trials: number;
  parallelism: number;
  epochs: number;
  /** TPE: random trials before it models the results. */
  startup: number;
}

/** 32 configs / 8 in flight at paper scale (and medium); fewer, shorter ones below. */
const SIZES: Record<ScaleName, Size> = {
  tiny: { trials: 4, parallelism: 2, epochs: 2, startup: 2 },
  small: { trials: 16, parallelism: 4, epochs: 3, startup: 4 },
  medium: { trials: 32, parallelism: 8, epochs: 5, startup: 10 },
  paper: { trials: 32, parallelism: 8, epochs: 10, startup: 10 },
};

function describe(scale: ScaleName): string {
  const { trials, parallelism, epochs } = SIZES[scale];
  const s = IMAGENET_SPECS[scale];
  const members = ['resnet18', 'resnet34'].map((arch) => {
    const m = zooMember(arch as 'resnet18', scale);
    return `${arch} width ${m.width} blocks [${m.blocks.join(',')}]`;
  });
  return (
    `TPE, ${trials} configs, ${parallelism} in flight, up to ${epochs} epochs; ${members.join(' and ')}; ` +
    `${s.trainRows} images ${s.imageSize}x${s.imageSize}x3 of ${s.classes} classes`
  );
}

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`hyperopt: option ${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** "resnet18 b64 lr3.2e-4 l2 1e-4": the learning rate to two digits (the config keeps all of them). */
function label(c: Pick<ModelConfig, 'arch' | 'batchSize' | 'learningRate' | 'l2'>): string {
  return `${c.arch} b${c.batchSize} lr${exp(Number(c.learningRate.toPrecision(2)))} l2 ${exp(c.l2)}`;
}

export const hyperoptWorkload: BenchWorkloadDefinition = {
  id: 'hyperopt',
  description:
    'Hyperopt search (paper 5.2.4, Figure 12): TPE over {ResNet18, ResNet34} x lr [1e-5, 1e-1] x l2 {1e-4, 1e-6} x ' +
    'batch [16, 256], 32 configs, 8 in flight, 10 epochs at paper scale',
  scales: {
    tiny: describe('tiny'),
    small: describe('small'),
    medium: describe('medium'),
    paper: `${describe('paper')}: needs the real ImageNet class-folder tree (--source) and a GPU cluster`,
  },
  options: {
    searcher: {
      default: 'tpe',
      description: `how configs are proposed: ${HYPEROPT_SEARCHERS.join(', ')} (docs/search.md)`,
    },
    trials: { default: '', description: 'configs the search proposes (default per scale: 32 at paper scale)' },
    parallelism: {
      default: '',
      description: 'configs in flight at once, the degree of parallelism (default per scale: 8 at paper scale)',
    },
    startup: {
      default: '',
      description: 'tpe: configs drawn at random before TPE models the results (default per scale)',
    },
    rung: { default: '1', description: 'asha: epochs of the first rung' },
    eta: { default: '3', description: 'asha: reduction factor; the top 1/eta of a rung go on to the next' },
    ...REGULARIZER_OPTION,
  },
  notes: [
    'Run it with udaf, ctq, da, export and task-parallel (the Hyperopt-Spark analogue) for Figure 12; ' +
      'ma and ddp refuse searches.',
  ],
  resolve(scale, seed, options) {
    checkScale(scale, 'hyperopt');
    const opts = readOptions('hyperopt', hyperoptWorkload.options, options);
    const regularizer = readRegularizer('hyperopt', opts.regularizer);
    const searcher = opts.searcher;
    if (!(HYPEROPT_SEARCHERS as readonly string[]).includes(searcher)) {
      throw new Error(`hyperopt: option searcher must be one of ${HYPEROPT_SEARCHERS.join(', ')}, got '${searcher}'`);
    }
    const size = SIZES[scale];
    const spec: SearchSpec = {
      searcher: searcher as (typeof HYPEROPT_SEARCHERS)[number],
      space: HYPEROPT_SPACE,
      trials: opts.trials ? integer('trials', opts.trials, 1) : size.trials,
      inFlight: opts.parallelism ? integer('parallelism', opts.parallelism, 1) : size.parallelism,
      maxEpochs: size.epochs,
      seed,
      ...(searcher === 'tpe'
        ? { startupTrials: opts.startup ? integer('startup', opts.startup, 0) : size.startup }
        : {}),
      ...(searcher === 'asha'
        ? { minEpochs: integer('rung', opts.rung, 1), reduction: integer('eta', opts.eta, 2) }
        : {}),
    };
    if (spec.minEpochs !== undefined && spec.minEpochs > size.epochs) {
      throw new Error(
        `hyperopt: option rung (${spec.minEpochs}) must not exceed the ${size.epochs} epochs at scale ${scale}`,
      );
    }
    return {
      id: 'hyperopt',
      scale,
      ...imagenetDataset(scale),
      configs: [],
      epochs: size.epochs,
      seed,
      search: {
        spec,
        configOf(id, params): ModelConfig {
          const arch = String(params.arch);
          if (!isZooArch(arch)) throw new Error(`hyperopt: ${arch} is not a model of the zoo`);
          const { width, blocks } = zooMember(arch, scale);
          const config = {
            arch,
            batchSize: Number(params.batchSize),
            learningRate: Number(params.learningRate),
            l2: Number(params.l2),
            width,
            blocks,
            regularizer,
          };
          return { id, ...config, label: label(config) };
        },
      },
    };
  },
};
