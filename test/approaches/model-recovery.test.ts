// Which copy of a model a resume trusts (approaches/shared/models-table.ts, planModelRecovery):
// pure decisions from the copies found and the units the event log recorded.
import { describe, expect, it } from 'vitest';
import type { UnitDone } from '../../src/core/events.js';
import {
  moveWaves,
  planModelRecovery,
  type ModelCopy,
  type RecoveryOptions,
} from '../../approaches/shared/models-table.js';

const one: RecoveryOptions = { configs: [0], segments: 2, layout: 'one', absentMeansFresh: false };

function unit(config: number, segment: number, epoch: number): UnitDone {
  return { type: 'unit', config, segment, epoch, lossSum: 1, examples: 10, at: 0 };
}

function copy(segment: number | undefined, version: number, extra: Partial<ModelCopy> = {}): ModelCopy {
  return { segment, config: 0, version, units: [], checksum: `v${version}`, ...extra };
}

describe('planModelRecovery', () => {
  it('keeps the one copy at the recorded version', () => {
    const plan = planModelRecovery([copy(1, 3)], [unit(0, 0, 0), unit(0, 1, 0), unit(0, 0, 1)], one);
    expect(plan.problems).toEqual([]);
    expect(plan.current.get(0)).toEqual({ version: 3, segment: 1 });
    expect(plan.unrecorded).toEqual([]);
    expect(plan.drop).toEqual([]);
  });

  it('keeps one of two identical copies a hop left behind and drops the other', () => {
    const plan = planModelRecovery([copy(1, 2), copy(0, 2)], [unit(0, 0, 0), unit(0, 1, 0)], one);
    expect(plan.problems).toEqual([]);
    expect(plan.current.get(0)).toEqual({ version: 2, segment: 0 });
    expect(plan.drop).toEqual([{ segment: 1, config: 0 }]);
  });

  it('drops a stale copy behind the current one', () => {
    const plan = planModelRecovery([copy(0, 1), copy(1, 2)], [unit(0, 0, 0), unit(0, 1, 0)], one);
    expect(plan.current.get(0)).toEqual({ version: 2, segment: 1 });
    expect(plan.drop).toEqual([{ segment: 0, config: 0 }]);
  });

  it('records the unit a model names when it is one version ahead of the log (committed, event lost)', () => {
    const ahead = copy(1, 3, { units: [{ segment: 1, lossSum: 4.5, examples: 7 }] });
    const plan = planModelRecovery([ahead], [unit(0, 0, 0), unit(0, 1, 0)], one);
    expect(plan.problems).toEqual([]);
    expect(plan.unrecorded).toEqual([
      expect.objectContaining({ config: 0, segment: 1, epoch: 1, lossSum: 4.5, examples: 7, modelVersion: 3 }),
    ]);
    expect(plan.current.get(0)).toEqual({ version: 3, segment: 1 });
  });

  it('refuses a model ahead of the log that does not name the missing units', () => {
    const plan = planModelRecovery(
      [copy(1, 3, { units: [{ segment: 0, lossSum: 1, examples: 10 }] })],
      [unit(0, 0, 0), unit(0, 1, 0), unit(0, 0, 1)],
      one,
    );
    // Version 3 after 3 recorded units is fine; version 4 naming an already recorded unit is not.
    expect(plan.problems).toEqual([]);
    const worse = planModelRecovery(
      [copy(1, 4, { units: [{ segment: 0, lossSum: 1, examples: 10 }] })],
      [unit(0, 0, 0), unit(0, 1, 0)],
      one,
    );
    expect(worse.problems).toEqual([
      {
        message: expect.stringMatching(
          new RegExp(
            /^config 0: its model is at version 4, the run recorded 2 sub-epochs of it, /.source +
              /and the model does not name the 2 missing ones$/.source,
          ),
        ),
      },
    ]);
  });

  it('refuses a model behind the log, a missing model and copies that disagree', () => {
    expect(planModelRecovery([copy(0, 1)], [unit(0, 0, 0), unit(0, 1, 0)], one).problems[0].message).toMatch(
      /version 1 but the run recorded 2 sub-epochs of it: trained work was lost/,
    );
    expect(planModelRecovery([], [unit(0, 0, 0)], one).problems[0].message).toBe(
      'config 0: its model is missing (the run recorded 1 sub-epochs of it)',
    );
    expect(
      planModelRecovery([copy(0, 2), copy(1, 2, { checksum: 'other' })], [unit(0, 0, 0), unit(0, 1, 0)], one)
        .problems[0].message,
    ).toBe('config 0: its copies at version 2 differ (seg0, seg1); none can be trusted');
  });

  it('treats a model-store file that was never written as a fresh model only while nothing was recorded', () => {
    const files = { ...one, absentMeansFresh: true };
    expect(planModelRecovery([], [], files).current.get(0)).toEqual({ version: 0 });
    expect(planModelRecovery([], [unit(0, 0, 0)], files).problems).toHaveLength(1);
  });

  it(
    'ma: rolls an interrupted broadcast forward, recording the units not yet in the log, ' +
      'and refreshes the lagging copies',
    () => {
      const every: RecoveryOptions = { configs: [0], segments: 2, layout: 'everySegment', absentMeansFresh: false };
      const units = [
        { segment: 0, lossSum: 1, examples: 10 },
        { segment: 1, lossSum: 2, examples: 10 },
      ];
      // Epoch 1 averaged and broadcast to seg1 only; the log has epoch 0 and one unit of epoch 1.
      const plan = planModelRecovery(
        [copy(0, 2), copy(1, 4, { units })],
        [unit(0, 0, 0), unit(0, 1, 0), unit(0, 1, 1)],
        every,
      );
      expect(plan.problems).toEqual([]);
      expect(plan.unrecorded).toEqual([expect.objectContaining({ segment: 0, epoch: 1, modelVersion: 4 })]);
      expect(plan.current.get(0)).toEqual({ version: 4, segment: 1 });
      expect(plan.refresh).toEqual([{ config: 0, from: 1, to: [0] }]);
      expect(planModelRecovery([copy(0, 2)], [unit(0, 0, 0), unit(0, 1, 0)], every).problems[0].message).toBe(
        'config 0: its copy is missing on seg1',
      );
    },
  );
});

describe('moveWaves', () => {
  it('runs moves at once only when no two share a source or a destination', () => {
    const move = (config: number, from: number, to: number) => ({ config, from, to, version: 0 });
    // A round-robin batch: a permutation, one wave.
    expect(moveWaves([move(0, 0, 1), move(1, 1, 2), move(2, 2, 0)])).toEqual([
      [move(0, 0, 1), move(1, 1, 2), move(2, 2, 0)],
    ]);
    // Two models leaving the segment where they waited: one after the other.
    expect(moveWaves([move(3, 0, 1), move(4, 0, 2), move(5, 1, 0)])).toEqual([
      [move(3, 0, 1), move(5, 1, 0)],
      [move(4, 0, 2)],
    ]);
  });
});
