// Heterogeneous workload (paper 5.2.2, Figure 11, issue 3's drill-down): fast and slow configs
// mixed. Each config is slow with probability 1 - p (p = Pr(l_x = l_s), default 0.8, option `p`);
// the draw is seeded; with 0 < p < 1 at least one config of each kind is kept so the mix is never
// degenerate. Option `models` says what makes a config slow:
//   mlp (default)  the Criteo MLP of the same scale; a slow config makes `repeat` = 8 passes over
//                  every mini-batch, so its training time per sub-epoch is about 8x a fast one's
//                  (l_m / l_s ~ 8, as in Figure 11A; validation is not repeated, so the measured
//                  ratio is a little below 8). src/metrics/unit-times.ts and bench/hetero.ts tell
//                  fast from slow by `repeat`.
//   zoo            the paper's real experiment on ImageNet: fast configs are MobileNetV2 with batch
//                  128, slow ones NASNetMobile with batch 4 in the paper; the zoo has no NASNetMobile,
//                  so slow configs are ResNet50 with batch 4 (both the zoo's members at the scale,
//                  workloads/zoo.ts). l_m / l_s is whatever the machine makes of them (measure it).
//                  Every config has repeat 1 here, so what tells fast from slow by repeat
//                  (src/metrics/unit-times.ts, bench/hetero.ts) does not read these runs yet; the
//                  labels say 'fast' or 'slow'.
import type { ModelConfig, ScaleName } from '../../src/core/workload.js';
import {
  type BenchWorkloadDefinition,
  REGULARIZER_OPTION,
  configLabel,
  numberConfigs,
  readOptions,
  readRegularizer,
  regularized,
} from '../grid.js';
import { checkScale, criteoDataset, imagenetDataset } from '../presets.js';
import { zooMember } from '../zoo.js';
import { Rng, hash32, hashString } from '../random.js';
import { CRITEO_GRID, CRITEO_HIDDEN } from './criteo.js';
import { IMAGENET_GRID } from './imagenet.js';

/** Extra passes per mini-batch of a slow config: l_m / l_s. */
export const SLOW_REPEAT = 8;
/** models=zoo: the paper's batch sizes of the fast (MobileNetV2) and slow (NASNetMobile; here ResNet50) models. */
export const ZOO_BATCH = { fast: 128, slow: 4 } as const;

const SIZES: Record<ScaleName, { configs: number; batchSize: number; epochs: number }> = {
  tiny: { configs: 4, batchSize: 64, epochs: 2 },
  small: { configs: 8, batchSize: 256, epochs: 2 },
  medium: { configs: 16, batchSize: 256, epochs: 3 },
  paper: { configs: 16, batchSize: 256, epochs: 5 },
};

/** Which configs are slow: a seeded Bernoulli(1 - p) draw per config, at least one of each kind when 0 < p < 1. */
export function slowMask(count: number, p: number, seed: number): boolean[] {
  const rng = new Rng(hash32(seed, hashString('hetero')));
  const slow = Array.from({ length: count }, () => rng.float() >= p);
  if (count >= 2 && p > 0 && p < 1) {
    if (slow.every((s) => s)) slow[rng.int(count)] = false;
    if (slow.every((s) => !s)) slow[rng.int(count)] = true;
  }
  return slow;
}

export const heteroWorkload: BenchWorkloadDefinition = {
  id: 'hetero',
  description:
    'Heterogeneous mix of fast and slow configs (paper 5.2.2, Figure 11): a config is fast with probability p; ' +
    'MLPs on Criteo whose slow ones repeat each mini-batch 8x (l_m/l_s ~ 8), or with models=zoo MobileNetV2 (fast) ' +
    'and ResNet50 (slow) on ImageNet',
  scales: {
    tiny: '4 configs, 2 epochs; MLP batch 64 on criteo_tiny (zoo: batch 128 / 4 on imagenet_tiny)',
    small: '8 configs, 2 epochs; MLP batch 256 on criteo_small (zoo: imagenet_small)',
    medium: '16 configs, 3 epochs; MLP batch 256 on criteo_medium (zoo: imagenet_medium)',
    paper: '16 configs, 5 epochs; MLP batch 256 on criteo_paper (zoo: imagenet_paper)',
  },
  options: {
    p: { default: '0.8', description: 'probability that a config is fast (Pr(l_x = l_s) in Proposition 1)' },
    models: {
      default: 'mlp',
      description:
        'mlp (Criteo MLPs, slow ones repeat each mini-batch 8x) or zoo (ImageNet: MobileNetV2 batch 128 fast, ' +
        'ResNet50 batch 4 slow, as Figure 11A with NASNetMobile)',
    },
    ...REGULARIZER_OPTION,
  },
  notes: [
    'Compare udaf (sync MOP) with ctq (async MOP); `bench simulate` gives the theory for the same p and l_m/l_s = 8.',
    'models=zoo: fast and slow configs differ in architecture and batch size, not in repeat.',
  ],
  resolve(scale, seed, options) {
    checkScale(scale, 'hetero');
    const opts = readOptions('hetero', heteroWorkload.options, options);
    const p = Number(opts.p);
    if (!Number.isFinite(p) || p < 0 || p > 1)
      throw new Error(`hetero: option p must be a number in [0, 1], got '${opts.p}'`);
    if (opts.models !== 'mlp' && opts.models !== 'zoo') {
      throw new Error(`hetero: option models must be mlp or zoo, got '${opts.models}'`);
    }
    const size = SIZES[scale];
    const slow = slowMask(size.configs, p, seed);
    const lrs = scale === 'tiny' ? [1e-3] : CRITEO_GRID.learningRate;
    const l2s = opts.models === 'zoo' ? IMAGENET_GRID.l2 : CRITEO_GRID.l2;
    const configs: Omit<ModelConfig, 'id'>[] = [];
    for (let i = 0; i < size.configs; i++) {
      const kind = slow[i] ? 'slow' : 'fast';
      const hyper = { learningRate: lrs[i % lrs.length], l2: l2s[Math.floor(i / lrs.length) % l2s.length] };
      if (opts.models === 'zoo') {
        const c = { ...zooMember(slow[i] ? 'resnet50' : 'mobilenetv2', scale), batchSize: ZOO_BATCH[kind], ...hyper };
        configs.push({ ...c, label: configLabel(c, `${c.arch} ${kind}#${i}`) });
      } else {
        const repeat = slow[i] ? SLOW_REPEAT : 1;
        const c = { arch: 'mlp' as const, batchSize: size.batchSize, ...hyper, hidden: CRITEO_HIDDEN[scale], repeat };
        configs.push({ ...c, label: configLabel(c, `mlp ${kind}#${i}`) });
      }
    }
    const data = opts.models === 'zoo' ? imagenetDataset(scale) : criteoDataset(scale);
    const regularizer = readRegularizer('hetero', opts.regularizer);
    const numbered = regularized(numberConfigs(configs), regularizer);
    return { id: 'hetero', scale, ...data, configs: numbered, epochs: size.epochs, seed };
  },
};
