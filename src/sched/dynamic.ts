// Schedulers for configs that arrive during a run and stop when their epochs are done (a search,
// docs/search.md). Each config has its own epoch count: a config arrives to train its epochs
// [from, to), and its epoch e is one unit on every segment, in any order. Pure, like the others.
import type { Scheduler } from './types.js';

export interface ConfigEpochs {
  /** The first epoch to train (the config's own epoch number). */
  from: number;
  /** One past the last: the config leaves the schedule once epoch to - 1 is done. */
  to: number;
}

export interface DynamicScheduler extends Scheduler {
  /**
   * Config `config` arrives to train epochs [from, to). A config that was here before comes back
   * where it stopped (from = the epochs it trained), e.g. promoted to ASHA's next rung; one new to
   * the scheduler may start at a later epoch (a resumed run: the earlier ones were trained before).
   */
  add(config: number, epochs: ConfigEpochs): void;
  /** No config arrives any more: once every added config is done, next() says 'done'. */
  close(): void;
  /** Epochs config `config` has finished (0 for one never added). */
  trainedEpochs(config: number): number;
}

export interface DynamicSchedulerOptions {
  segments: number;
  seed: number;
}

/** The state shared by the dynamic schedulers: each config's epochs and which segments its epoch has visited. */
export class ConfigLedger {
  readonly configs = new Map<
    number,
    { epoch: number; to: number; visited: Uint8Array; visitedCount: number; busyOn: number }
  >();
  /** Units finished by an earlier attempt (resume), per config: `${epoch}/${segment}`. */
  private readonly restored = new Map<number, Set<string>>();

  constructor(readonly segments: number) {}

  restore(units: readonly { config: number; segment: number; epoch: number }[]): void {
    for (const u of units) {
      if (!Number.isInteger(u.segment) || u.segment < 0 || u.segment >= this.segments) {
        throw new RangeError(`scheduler: restored unit of segment ${u.segment} is out of range [0, ${this.segments})`);
      }
      const set = this.restored.get(u.config) ?? new Set<string>();
      const key = `${u.epoch}/${u.segment}`;
      if (set.has(key))
        throw new Error(
          `scheduler: restored unit {config ${u.config}, segment ${u.segment}, epoch ${u.epoch}} appears twice`,
        );
      set.add(key);
      this.restored.set(u.config, set);
    }
  }

  /**
   * Adds (or brings back) a config; restored units of its epochs count as done. Returns false when
   * restored units already finish every epoch it came for.
   */
  add(config: number, epochs: ConfigEpochs, who: string): boolean {
    const { from, to } = epochs;
    if (!Number.isInteger(config) || config < 0) throw new RangeError(`${who}: config ${config} is not a config id`);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to <= from) {
      throw new RangeError(
        `${who}: config ${config} must come for epochs [from, to) with 0 <= from < to, got [${from}, ${to})`,
      );
    }
    const known = this.configs.get(config);
    const trained = known?.epoch ?? 0;
    if (known && known.epoch < known.to)
      throw new Error(
        `${who}: config ${config} was added while it still trains (epoch ${known.epoch} of [.., ${known.to}))`,
      );
    // A config new to this scheduler may come for later epochs: an earlier attempt trained the
    // first ones (resume).
    if (known && from !== trained)
      throw new Error(`${who}: config ${config} comes for epochs from ${from}, but it has trained ${trained}`);
    const state = known ?? { epoch: from, to, visited: new Uint8Array(this.segments), visitedCount: 0, busyOn: -1 };
    state.to = to;
    this.configs.set(config, state);
    this.applyRestored(config);
    return state.epoch < state.to;
  }

  /** Marks the restored units of the config's current epochs, skipping epochs they finish. */
  private applyRestored(config: number): void {
    const done = this.restored.get(config);
    const state = this.configs.get(config);
    if (!done || !state) return;
    while (state.epoch < state.to) {
      for (let s = 0; s < this.segments; s++) {
        if (done.delete(`${state.epoch}/${s}`) && !state.visited[s]) {
          state.visited[s] = 1;
          state.visitedCount++;
        }
      }
      if (state.visitedCount < this.segments) return;
      this.finishEpoch(config);
    }
  }

  finishEpoch(config: number): void {
    const state = this.configs.get(config)!;
    state.epoch++;
    state.visited.fill(0);
    state.visitedCount = 0;
  }

  trainedEpochs(config: number): number {
    return this.configs.get(config)?.epoch ?? 0;
  }
}
