// The raw engine loop as a baseline for a whole workload (bench:engine, bench:ci): every segment's
// packed training shard is COPYed out into an engine data file, then one raw-loop process per
// shard runs concurrently (as many as the approaches' workers), each training every config of the
// workload for the workload's epochs on its shard, in memory, with the same Trainer code as the
// approaches but no scheduler, no database and no hops.
//
// examplesPerSecond is PER WORKER: the examples of all shards over the summed train-loop seconds
// of all shards, so N workers train N * examplesPerSecond examples a second. Only the time inside
// the engine's train loop counts (no process start, no model initialisation, no validation).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { copyPackedBuffers } from '../../src/access/copy-export.js';
import { classCount, featureShape, type ResolvedWorkload } from '../../src/core/workload.js';
import type { Topology } from '../../src/db/topology.js';
import { ensureRawData } from '../../workloads/data/load.js';
import { packDataset } from '../../workloads/data/pack.js';
import { writeEngineDataFile } from '../../src/engine/data-file.js';
import { runRawLoop } from '../../src/engine/rawloop.js';

export interface RawLoopMeasurement {
  /** Examples trained, summed over shards, configs and epochs. */
  examples: number;
  /** Seconds inside the train loop, summed over shards (machine seconds, not wall time). */
  trainSeconds: number;
  /** examples / trainSeconds: one worker's training throughput. */
  examplesPerSecond: number;
}

/**
 * Writes one engine data file per segment (`<workDir>/shard-<i>.data`) from the workload's packed
 * training table, packing it first unless a pack of the current raw load is there to reuse.
 * Resolves with the files' paths, in segment order.
 */
export async function writeRawLoopShards(
  topology: Topology,
  workload: ResolvedWorkload,
  workDir: string,
): Promise<string[]> {
  mkdirSync(workDir, { recursive: true });
  await ensureRawData(topology, workload);
  const packed = await packDataset(topology, workload, { reuse: true });
  return Promise.all(
    topology.segments.map(async (segment, i) => {
      const path = join(workDir, `shard-${i}.data`);
      await writeEngineDataFile(path, {
        inputShape: featureShape(workload.dataset),
        classes: classCount(workload.dataset),
        buffers: await copyPackedBuffers(segment, packed.trainTable),
      });
      return path;
    }),
  );
}

/** Every config for the workload's epochs over every shard file, one raw-loop process per shard at a time. */
export async function runRawLoopOnShards(
  shards: readonly string[],
  workload: ResolvedWorkload,
  threads: number,
): Promise<RawLoopMeasurement> {
  const perShard = await Promise.all(
    shards.map(async (data) => {
      let examples = 0;
      let trainSeconds = 0;
      for (const config of workload.configs) {
        const result = await runRawLoop({ data, config, threads, epochs: workload.epochs, seed: config.id });
        examples += result.examples;
        trainSeconds += result.trainSeconds;
      }
      return { examples, trainSeconds };
    }),
  );
  const total = perShard.reduce(
    (a, b) => ({ examples: a.examples + b.examples, trainSeconds: a.trainSeconds + b.trainSeconds }),
    { examples: 0, trainSeconds: 0 },
  );
  return { ...total, examplesPerSecond: total.trainSeconds > 0 ? total.examples / total.trainSeconds : 0 };
}

/**
 * The raw loop's throughput on this workload and cluster: COPY each segment's packed shard into an
 * engine data file under workDir, then run the raw loop on all shards concurrently. Does not take
 * the cluster's run lock: do not run it beside a bench run on the same cluster.
 */
export async function measureRawLoop(
  topology: Topology,
  workload: ResolvedWorkload,
  threads: number,
  workDir: string,
): Promise<RawLoopMeasurement> {
  const shards = await writeRawLoopShards(topology, workload, workDir);
  return runRawLoopOnShards(shards, workload, threads);
}
