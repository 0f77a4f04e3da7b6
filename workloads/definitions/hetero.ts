// Heterogeneous workload (paper 5.2.2, issue 3's drill-down): fast and slow configs mixed. Each
// config is slow with probability 1 - p (p = Pr(l_x = l_s), default 0.8, option `p`); a slow
// config makes `repeat` = 8 passes over every mini-batch, so its training time per sub-epoch is
// about 8x a fast one's (l_m / l_s ~ 8, as in Figure 11A; validation is not repeated, so the
// measured ratio is a little below 8). The draw is seeded; with 0 < p < 1 at least one config of
// each kind is kept so the mix is never degenerate. Runs on the Criteo data of the same scale.
import type { ModelConfig, ScaleName } from '../../src/core/workload.js';
import { type BenchWorkloadDefinition, configLabel, numberConfigs, readOptions } from '../grid.js';
import { checkScale, criteoDataset } from '../presets.js';
import { Rng, hash32, hashString } from '../random.js';
import { CRITEO_GRID, CRITEO_HIDDEN } from './criteo.js';

/** Extra passes per mini-batch of a slow config: l_m / l_s. */
export const SLOW_REPEAT = 8;

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
  description: 'Heterogeneous mix of fast and slow MLP configs on Criteo (paper 5.2.2): a config is fast with probability p, slow ones repeat each mini-batch 8x (l_m/l_s ~ 8)',
  scales: {
    tiny: '4 configs, batch 64, 2 epochs on criteo_tiny',
    small: '8 configs, batch 256, 2 epochs on criteo_small',
    medium: '16 configs, batch 256, 3 epochs on criteo_medium',
    paper: '16 configs, batch 256, 5 epochs on criteo_paper',
  },
  options: {
    p: { default: '0.8', description: 'probability that a config is fast (Pr(l_x = l_s) in Proposition 1)' },
  },
  notes: ['Compare udaf (sync MOP) with ctq (async MOP); `bench simulate` gives the theory for the same p and l_m/l_s = 8.'],
  resolve(scale, seed, options) {
    checkScale(scale, 'hetero');
    const opts = readOptions('hetero', heteroWorkload.options, options);
    const p = Number(opts.p);
    if (!Number.isFinite(p) || p < 0 || p > 1) throw new Error(`hetero: option p must be a number in [0, 1], got '${opts.p}'`);
    const size = SIZES[scale];
    const slow = slowMask(size.configs, p, seed);
    const lrs = scale === 'tiny' ? [1e-3] : CRITEO_GRID.learningRate;
    const configs: Omit<ModelConfig, 'id'>[] = [];
    for (let i = 0; i < size.configs; i++) {
      const c = {
        arch: 'mlp' as const,
        batchSize: size.batchSize,
        learningRate: lrs[i % lrs.length],
        l2: CRITEO_GRID.l2[Math.floor(i / lrs.length) % CRITEO_GRID.l2.length],
        hidden: CRITEO_HIDDEN[scale],
        repeat: slow[i] ? SLOW_REPEAT : 1,
      };
      configs.push({ ...c, label: configLabel(c, `mlp ${slow[i] ? 'slow' : 'fast'}#${i}`) });
    }
    return { id: 'hetero', scale, ...criteoDataset(scale), configs: numberConfigs(configs), epochs: size.epochs, seed };
  },
};
