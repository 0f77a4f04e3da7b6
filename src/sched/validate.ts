// Shared argument checks of the schedulers: a bad option or a malformed unit is a bug in the caller,
// said plainly instead of producing a schedule that silently skips or repeats work.
import type { SchedulerOptions, Unit } from './types.js';

export function checkOptions(options: SchedulerOptions): void {
  const { configs, segments, epochs } = options;
  if (!Number.isInteger(configs) || configs < 1) {
    throw new RangeError(`scheduler: configs must be an integer >= 1, got ${configs}`);
  }
  if (!Number.isInteger(segments) || segments < 1) {
    throw new RangeError(`scheduler: segments must be an integer >= 1, got ${segments}`);
  }
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new RangeError(`scheduler: epochs must be an integer >= 0, got ${epochs}`);
  }
  if (!Number.isFinite(options.seed)) {
    throw new RangeError(`scheduler: seed must be a finite number, got ${options.seed}`);
  }
}

export function checkSegment(segment: number, segments: number): void {
  if (!Number.isInteger(segment) || segment < 0 || segment >= segments) {
    throw new RangeError(`scheduler: segment ${segment} is out of range [0, ${segments})`);
  }
}

export function checkUnit(unit: Unit, options: SchedulerOptions): void {
  const { config, segment, epoch } = unit;
  if (
    !Number.isInteger(config) ||
    config < 0 ||
    config >= options.configs ||
    !Number.isInteger(segment) ||
    segment < 0 ||
    segment >= options.segments ||
    !Number.isInteger(epoch) ||
    epoch < 0 ||
    epoch >= options.epochs
  ) {
    throw new RangeError(
      `scheduler: unit ${formatUnit(unit)} is out of range ` +
        `(configs ${options.configs}, segments ${options.segments}, epochs ${options.epochs})`,
    );
  }
}

export function formatUnit(unit: Unit): string {
  return `{config ${unit.config}, segment ${unit.segment}, epoch ${unit.epoch}}`;
}

/** Groups restored units by epoch, rejecting out-of-range units and duplicates. */
export function groupRestored(done: readonly Unit[], options: SchedulerOptions): Map<number, Unit[]> {
  const { configs, segments } = options;
  const seen = new Set<number>();
  const byEpoch = new Map<number, Unit[]>();
  for (const unit of done) {
    checkUnit(unit, options);
    const key = (unit.epoch * segments + unit.segment) * configs + unit.config;
    if (seen.has(key)) {
      throw new Error(`scheduler: restored unit ${formatUnit(unit)} appears twice (a unit completed twice)`);
    }
    seen.add(key);
    let list = byEpoch.get(unit.epoch);
    if (list === undefined) {
      list = [];
      byEpoch.set(unit.epoch, list);
    }
    list.push({ config: unit.config, segment: unit.segment, epoch: unit.epoch });
  }
  return byEpoch;
}
