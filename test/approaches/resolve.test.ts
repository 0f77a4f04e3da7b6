// From names to objects at the edge: registries by own property, options routed to whoever declares them.
import { describe, expect, it } from 'vitest';
import { getApproach } from '../../approaches/index.js';
import { resolveRunSpec } from '../../approaches/resolve.js';

describe('resolveRunSpec', () => {
  it('routes each option to the approach or the workload that declares it', () => {
    const resolved = resolveRunSpec({
      approach: 'ctq',
      workload: 'hetero',
      scale: 'tiny',
      options: { 'models-in': 'db', p: '0.5' },
    });
    expect(resolved.approachOptions).toEqual({ 'models-in': 'db' });
    expect(resolved.workloadOptions).toEqual({ p: '0.5', models: 'mlp', regularizer: 'kernel-l2' });
    expect(resolved.workload.id).toBe('hetero');
  });

  it('refuses an option nobody declares, listing both sets (no silent epochs=0)', () => {
    expect(() =>
      resolveRunSpec({ approach: 'ctq', workload: 'criteo', scale: 'tiny', options: { epochs: '0' } }),
    ).toThrow(
      new RegExp(
        /neither approach ctq nor workload criteo has option "epochs" /.source +
          /\(approach options: compression, cache, models-in, model-store; workload options: regularizer\)/.source,
      ),
    );
    expect(() =>
      resolveRunSpec({ approach: 'udaf', workload: 'criteo', scale: 'tiny', options: { compresion: 'none' } }),
    ).toThrow(/did you mean "compression"\?/);
  });

  it('looks approaches up by own property only', () => {
    expect(() => getApproach('toString')).toThrow('unknown approach "toString"; valid approaches: udaf, export, ctq');
    expect(() => getApproach('__proto__')).toThrow(/unknown approach/);
    expect(() => getApproach('cqt')).toThrow('unknown approach "cqt"; did you mean "ctq"?');
  });

  it('refuses an unknown workload and scale, listing the valid ones', () => {
    expect(() => resolveRunSpec({ approach: 'ctq', workload: 'constructor', scale: 'tiny' })).toThrow(
      /Unknown workload 'constructor'. Valid workloads: criteo/,
    );
    expect(() => resolveRunSpec({ approach: 'ctq', workload: 'criteo', scale: 'huge' })).toThrow(
      /Unknown scale 'huge'. Valid scales: tiny, small/,
    );
  });
});
