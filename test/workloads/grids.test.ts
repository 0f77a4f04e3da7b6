// Workload definitions: Table 5 at paper scale, the presets, the drill-downs and their errors.
import { describe, expect, it } from 'vitest';
import { SCALES, featureShape, type ModelConfig } from '../../src/core/workload.js';
import { WORKLOADS, getWorkload, resolveWorkload } from '../../workloads/index.js';
import { SLOW_REPEAT, ZOO_BATCH, slowMask } from '../../workloads/definitions/hetero.js';
import { modelSizeOf } from '../../workloads/definitions/modelsize.js';
import { PUBLISHED, zooMember } from '../../workloads/zoo.js';

const key = (c: ModelConfig) => `${c.arch}/${c.batchSize}/${c.learningRate}/${c.l2}`;

function gridOf(values: { arch: string[]; batch: number[]; lr: number[]; l2: number[] }): string[] {
  const out: string[] = [];
  for (const a of values.arch)
    for (const b of values.batch)
      for (const lr of values.lr) for (const l2 of values.l2) out.push(`${a}/${b}/${lr}/${l2}`);
  return out.sort();
}

describe('Table 5 at paper scale', () => {
  it('criteo: MLP 1000-500, batch {32,64,256,512} x lr {1e-3,1e-4} x l2 {1e-4,1e-5}, 5 epochs, 7306 features', () => {
    const w = resolveWorkload('criteo', 'paper', 1);
    expect(w.configs).toHaveLength(16);
    expect(w.configs.map(key).sort()).toEqual(
      gridOf({ arch: ['mlp'], batch: [32, 64, 256, 512], lr: [1e-3, 1e-4], l2: [1e-4, 1e-5] }),
    );
    expect(w.configs.every((c) => JSON.stringify(c.hidden) === '[1000,500]')).toBe(true);
    expect(w.epochs).toBe(5);
    expect(featureShape(w.dataset)).toEqual([7306]);
    expect(w.configs.map((c) => c.id)).toEqual([...Array(16).keys()]);
  });

  it(
    'imagenet: {vgg16,resnet50} x batch {32,256} x lr {1e-4,1e-6} x l2 {1e-4,1e-6}, 10 epochs, 112x112x3, ' +
      '1000 classes',
    () => {
      const w = resolveWorkload('imagenet', 'paper', 1);
      expect(w.configs).toHaveLength(16);
      expect(w.configs.map(key).sort()).toEqual(
        gridOf({ arch: ['vgg16', 'resnet50'], batch: [32, 256], lr: [1e-4, 1e-6], l2: [1e-4, 1e-6] }),
      );
      // The published models: VGG16 and ResNet50 at their own width and depth.
      for (const c of w.configs) {
        const published = PUBLISHED[c.arch as 'vgg16' | 'resnet50'];
        expect({ width: c.width, blocks: c.blocks }).toEqual(published);
      }
      expect(w.epochs).toBe(10);
      expect(featureShape(w.dataset)).toEqual([3, 112, 112]);
      expect(w.dataset.kind === 'imagenet' && w.dataset.classes).toBe(1000);
    },
  );

  it('small scales keep the full 16-config grids', () => {
    expect(resolveWorkload('criteo', 'small', 1).configs).toHaveLength(16);
    expect(resolveWorkload('imagenet', 'small', 1).configs).toHaveLength(16);
  });
});

describe('every workload at every scale', () => {
  for (const id of Object.keys(WORKLOADS)) {
    for (const scale of SCALES) {
      it(`${id} ${scale} resolves to a sane workload`, () => {
        const w = resolveWorkload(id, scale, 7);
        expect(w.id).toBe(id);
        expect(w.scale).toBe(scale);
        expect(w.seed).toBe(7);
        expect(w.datasetName).toBe(`${w.dataset.kind}_${scale}`);
        if (w.search) {
          // A search proposes its configs during the run (docs/search.md).
          expect(w.configs).toEqual([]);
          expect(resolveWorkload(id, scale, 7).search?.spec).toEqual(w.search.spec);
          return;
        }
        expect(w.configs.length).toBeGreaterThan(0);
        expect(new Set(w.configs.map((c) => c.label)).size).toBe(w.configs.length);
        for (const c of w.configs) {
          expect(
            c.arch === 'mlp'
              ? w.dataset.kind === 'criteo' && c.hidden!.length > 0
              : w.dataset.kind === 'imagenet' && c.width! > 0,
          ).toBe(true);
          expect(c.batchSize).toBeGreaterThan(0);
          // Every config says how its l2 regularises (the paper's Keras penalty unless an option says otherwise).
          expect(c.regularizer).toBe('kernel-l2');
        }
        // A packed buffer is about 0.5-4 MB of float32 (tiny ImageNet a bit less, to keep several buffers per segment).
        const bufferBytes = w.dataset.rowsPerBuffer * featureShape(w.dataset).reduce((a, b) => a * b, 1) * 4;
        expect(bufferBytes).toBeGreaterThan(scale === 'tiny' ? 0.25e6 : 0.5e6);
        expect(bufferBytes).toBeLessThan(4.2e6);
        // Resolving is deterministic.
        expect(resolveWorkload(id, scale, 7)).toEqual(w);
      });
    }
  }

  it('workloads on the same data at the same scale share one dataset spec', () => {
    for (const scale of SCALES) {
      const criteo = resolveWorkload('criteo', scale, 1);
      const imagenet = resolveWorkload('imagenet', scale, 1);
      const same = [
        [criteo, resolveWorkload('hetero', scale, 1)],
        [criteo, resolveWorkload('modelsize', scale, 1, { models: 'mlp' })],
        [criteo, resolveWorkload('scalability', scale, 1, { dataset: 'criteo' })],
        [imagenet, resolveWorkload('hetero', scale, 1, { models: 'zoo' })],
        [imagenet, resolveWorkload('modelsize', scale, 1)],
        [imagenet, resolveWorkload('scalability', scale, 1)],
      ];
      for (const [a, b] of same) {
        expect(b.datasetName).toBe(a.datasetName);
        expect(b.dataset).toEqual(a.dataset);
      }
    }
  });

  it('the regularizer option sets every config and refuses unknown names', () => {
    for (const id of Object.keys(WORKLOADS)) {
      expect(
        resolveWorkload(id, 'tiny', 1, { regularizer: 'adamw' }).configs.every((c) => c.regularizer === 'adamw'),
      ).toBe(true);
      expect(() => resolveWorkload(id, 'tiny', 1, { regularizer: 'dropout' })).toThrow(
        /regularizer must be one of kernel-l2, adam, adamw, got 'dropout'/,
      );
    }
  });

  it('tiny is a 4-config subset of the grid with the larger learning rate', () => {
    const criteo = resolveWorkload('criteo', 'tiny', 1);
    expect(criteo.configs).toHaveLength(4);
    expect(criteo.epochs).toBe(2);
    expect(criteo.dataset).toMatchObject({ intBuckets: 4, hashBuckets: 8 });
    expect(criteo.configs.every((c) => c.learningRate === 1e-3)).toBe(true);
    const imagenet = resolveWorkload('imagenet', 'tiny', 1);
    expect(imagenet.configs).toHaveLength(4);
    expect(new Set(imagenet.configs.map((c) => c.arch))).toEqual(new Set(['vgg16', 'resnet50']));
    expect(imagenet.configs.find((c) => c.arch === 'resnet50')).toMatchObject({ width: 8, blocks: [1, 1, 1, 1] });
  });
});

describe('errors name the valid choices', () => {
  it('unknown workload', () => {
    expect(() => getWorkload('mnist')).toThrow(
      /Unknown workload 'mnist'.*criteo, imagenet, hetero, modelsize, scalability/,
    );
  });
  it('unknown scale', () => {
    expect(() => resolveWorkload('criteo', 'huge', 1)).toThrow(/Unknown scale 'huge'.*tiny, small, medium, paper/);
    expect(() => getWorkload('criteo').resolve('huge' as never, 1)).toThrow(/tiny, small, medium, paper/);
  });
  it('bad options', () => {
    expect(() => resolveWorkload('hetero', 'tiny', 1, { p: '2' })).toThrow(/p must be a number in \[0, 1\]/);
    expect(() => resolveWorkload('modelsize', 'tiny', 1, { size: 'huge' })).toThrow(/small, medium, large, all/);
    expect(() => resolveWorkload('scalability', 'tiny', 1, { dataset: 'mnist' })).toThrow(/imagenet or criteo/);
  });
});

describe('drill-down workloads', () => {
  it('hetero mixes fast and slow configs, slow ones repeating each mini-batch 8x', () => {
    const w = resolveWorkload('hetero', 'small', 1);
    const slow = w.configs.filter((c) => c.repeat === SLOW_REPEAT);
    const fast = w.configs.filter((c) => c.repeat === 1);
    expect(slow.length + fast.length).toBe(w.configs.length);
    expect(slow.length).toBeGreaterThan(0);
    expect(fast.length).toBeGreaterThan(0);
    expect(new Set(w.configs.map((c) => c.batchSize)).size).toBe(1);
    expect(slow.every((c) => c.label.includes('slow'))).toBe(true);
  });

  it('hetero draws slow configs with probability 1 - p', () => {
    let slow = 0;
    const n = 4000;
    for (let seed = 0; seed < 40; seed++) slow += slowMask(n / 40, 0.8, seed).filter(Boolean).length;
    expect(slow / n).toBeGreaterThan(0.16);
    expect(slow / n).toBeLessThan(0.24);
    expect(slowMask(8, 1, 1).every((s) => !s)).toBe(true);
    expect(slowMask(8, 0, 1).every((s) => s)).toBe(true);
    const allFast = resolveWorkload('hetero', 'tiny', 3, { p: '1' });
    expect(allFast.configs.every((c) => c.repeat === 1)).toBe(true);
  });

  it(
    'modelsize trains the same grid with MobileNetV2, ResNet50 and ResNet152 (or three MLPs); ' +
      'option size picks one',
    () => {
      const all = resolveWorkload('modelsize', 'paper', 1);
      expect(all.configs).toHaveLength(24);
      expect(all.epochs).toBe(3);
      expect(all.dataset.kind).toBe('imagenet');
      expect(all.configs.every((c) => c.batchSize === 32)).toBe(true);
      const archOf = { small: 'mobilenetv2', medium: 'resnet50', large: 'resnet152' } as const;
      for (const c of all.configs) {
        const size = modelSizeOf(c)!;
        expect(c.arch).toBe(archOf[size]);
        expect({ width: c.width, blocks: c.blocks }).toEqual(PUBLISHED[archOf[size]]);
      }
      const sizes = ['small', 'medium', 'large'] as const;
      const mlp = resolveWorkload('modelsize', 'paper', 1, { models: 'mlp' });
      const params = sizes.map((s) => {
        const c = mlp.configs.find((x) => modelSizeOf(x) === s)!;
        const dims = [featureShape(mlp.dataset)[0], ...c.hidden!, 2];
        return dims.slice(1).reduce((acc, d, i) => acc + dims[i] * d + d, 0);
      });
      expect(params[0]).toBeLessThan(params[1]);
      expect(params[1]).toBeLessThan(params[2]);
      const large = resolveWorkload('modelsize', 'small', 1, { size: 'large' });
      expect(large.configs.every((c) => modelSizeOf(c) === 'large' && c.arch === 'resnet152')).toBe(true);
      expect(() => resolveWorkload('modelsize', 'tiny', 1, { models: 'bert' })).toThrow(/models must be zoo or mlp/);
    },
  );

  it('hetero with models=zoo: MobileNetV2 batch 128 fast, ResNet50 batch 4 slow, on ImageNet', () => {
    const w = resolveWorkload('hetero', 'small', 1, { models: 'zoo' });
    const fast = w.configs.filter((c) => c.arch === 'mobilenetv2');
    const slow = w.configs.filter((c) => c.arch === 'resnet50');
    expect(fast.length + slow.length).toBe(w.configs.length);
    expect(fast.length).toBeGreaterThan(0);
    expect(slow.length).toBeGreaterThan(0);
    expect(fast.every((c) => c.batchSize === ZOO_BATCH.fast && c.label.includes('fast'))).toBe(true);
    expect(slow.every((c) => c.batchSize === ZOO_BATCH.slow && c.label.includes('slow'))).toBe(true);
    expect(slow[0]).toMatchObject(zooMember('resnet50', 'small'));
    // The same draw as models=mlp: the same configs are slow.
    const mlp = resolveWorkload('hetero', 'small', 1);
    expect(w.configs.map((c) => c.arch === 'resnet50')).toEqual(mlp.configs.map((c) => c.repeat === SLOW_REPEAT));
  });

  it('zoo members: the published ones at paper scale, narrower and shallower below, never below 8 channels', () => {
    for (const arch of Object.keys(PUBLISHED) as (keyof typeof PUBLISHED)[]) {
      expect(zooMember(arch, 'paper')).toEqual({ arch, ...PUBLISHED[arch] });
      const tiny = zooMember(arch, 'tiny');
      expect(tiny.width).toBeGreaterThanOrEqual(8);
      expect(tiny.width).toBeLessThanOrEqual(PUBLISHED[arch].width);
      expect(tiny.blocks).toHaveLength(PUBLISHED[arch].blocks.length);
      tiny.blocks.forEach((b, i) => {
        expect(b).toBeLessThanOrEqual(PUBLISHED[arch].blocks[i]);
      });
    }
    // Figure 12's space names ResNet18 and ResNet34: deeper is bigger at every scale.
    for (const scale of SCALES) {
      const [r18, r34] = [zooMember('resnet18', scale), zooMember('resnet34', scale)];
      expect(r34.blocks.reduce((a, b) => a + b)).toBeGreaterThan(r18.blocks.reduce((a, b) => a + b));
    }
  });

  it('scalability: 8 homogeneous ResNet configs (4 lr x 2 l2), one epoch', () => {
    const w = resolveWorkload('scalability', 'paper', 1);
    expect(w.configs).toHaveLength(8);
    expect(w.epochs).toBe(1);
    expect(new Set(w.configs.map((c) => c.arch))).toEqual(new Set(['resnet50']));
    expect(new Set(w.configs.map((c) => c.learningRate)).size).toBe(4);
    expect(new Set(w.configs.map((c) => c.l2)).size).toBe(2);
    expect(new Set(w.configs.map((c) => c.batchSize)).size).toBe(1);
    expect(getWorkload('scalability').notes.join(' ')).toMatch(/--segments/);
    const criteo = resolveWorkload('scalability', 'tiny', 1, { dataset: 'criteo' });
    expect(criteo.dataset.kind).toBe('criteo');
  });
});

describe('hyperopt (paper 5.2.4, Figure 12)', () => {
  it('searches the paper space with TPE, 32 configs and 8 in flight at paper scale, fewer below', () => {
    const w = resolveWorkload('hyperopt', 'paper', 3);
    const spec = w.search!.spec;
    expect(spec).toMatchObject({ searcher: 'tpe', trials: 32, inFlight: 8, maxEpochs: 10, seed: 3 });
    expect(spec.space).toEqual({
      arch: { kind: 'choice', values: ['resnet18', 'resnet34'] },
      learningRate: { kind: 'float', low: 1e-5, high: 1e-1, log: true },
      l2: { kind: 'choice', values: [1e-4, 1e-6] },
      batchSize: { kind: 'int', low: 16, high: 256, log: true },
    });
    expect(w.dataset).toEqual(resolveWorkload('imagenet', 'paper', 3).dataset);
    // A sampled point becomes the published model at paper scale, a shallow member at tiny.
    const point = { arch: 'resnet34', learningRate: 3.21e-4, l2: 1e-6, batchSize: 48 };
    const config = w.search!.configOf(5, point);
    expect(config).toMatchObject({
      id: 5,
      arch: 'resnet34',
      batchSize: 48,
      learningRate: 3.21e-4,
      l2: 1e-6,
      regularizer: 'kernel-l2',
    });
    expect({ width: config.width, blocks: config.blocks }).toEqual(PUBLISHED.resnet34);
    expect(config.label).toBe('resnet34 b48 lr3.2e-4 l2 1e-6');
    const tiny = resolveWorkload('hyperopt', 'tiny', 3);
    expect(tiny.search!.spec).toMatchObject({ trials: 4, inFlight: 2, maxEpochs: 2 });
    expect(tiny.search!.configOf(0, point)).toMatchObject(zooMember('resnet34', 'tiny'));
  });

  it('takes the searcher and its sizes as options, and refuses bad ones', () => {
    const asha = resolveWorkload('hyperopt', 'small', 1, {
      searcher: 'asha',
      rung: '1',
      eta: '2',
      trials: '9',
      parallelism: '3',
    });
    expect(asha.search!.spec).toMatchObject({ searcher: 'asha', trials: 9, inFlight: 3, minEpochs: 1, reduction: 2 });
    expect(resolveWorkload('hyperopt', 'small', 1, { searcher: 'random' }).search!.spec.searcher).toBe('random');
    expect(() => resolveWorkload('hyperopt', 'tiny', 1, { searcher: 'bayes' })).toThrow(
      /searcher must be one of tpe, random, asha/,
    );
    expect(() => resolveWorkload('hyperopt', 'tiny', 1, { parallelism: '0' })).toThrow(
      /parallelism must be an integer >= 1/,
    );
    expect(() => resolveWorkload('hyperopt', 'tiny', 1, { searcher: 'asha', rung: '5' })).toThrow(
      /rung \(5\) must not exceed/,
    );
  });
});
