// Data parallelism (paper 3.3/5.1: PytorchDDP): the data leaves the database as in `export`
// (COPY into Arrow files, the same storage blowup), then one engine process per segment holds its
// shard in memory and all of them train ONE config at a time together, all-reducing gradients
// after every mini-batch (torch's DistributedDataParallel over torch.distributed: gloo on the CPU,
// nccl with a GPU per rank; option allreduce=flat: one all-reduce of the whole gradient). Epoch-major:
// in epoch e every config trains one epoch on all shards at once, then every config is validated.
// Models live in the processes' memory for the whole run. `ddpApproach` builds the variants that
// read the data another way (`da-ddp`: the direct reader).
import { defineApproach, type Approach, type Prepared, type Problem, type RunContext } from '../src/core/approach.js';
import type { Topology } from '../src/db/topology.js';
import { DDP_ALLREDUCE, DdpGroup, type DdpGroupOptions } from '../src/engine/ddp.js';
import type { ShardSource } from '../src/engine/fleet.js';
import { choiceOption, numberOption, type OptionValues } from '../src/core/options.js';
import { PACKING_OPTIONS, packForRun, packedData } from './shared/pack.js';
import type { DataBytes } from '../src/core/records.js';
import { exportToFiles } from './export.js';
import { checkWorkers } from './shared/checks.js';

interface DdpPrepared extends Prepared {
  group: DdpGroup;
}

interface Sources {
  sources: ShardSource[];
  copies: DataBytes;
}

export interface DdpApproachOptions {
  id: string;
  title: string;
  /** The approach's data access layer, in words (Table 2). */
  dataAccess: string;
  /** The ETL after packing: where each rank's shard and the validation set come from, and the
   * copies of the training data made outside the database (the storage blowup). */
  sources: (ctx: RunContext, trainTable: string, validTable: string) => Promise<Sources>;
  /** What the data access needs beyond the engine workers (default: nothing more). */
  check?: (topology: Topology) => Promise<Problem[]>;
}

const DDP_OPTIONS = {
  ...PACKING_OPTIONS,
  ddpTimeout: numberOption({ min: 1, max: 86_400 }, 1800, 'seconds any collective may take before the ranks give up'),
  ddpBackend: choiceOption(
    ['auto', 'gloo', 'nccl'],
    'auto',
    'torch.distributed backend: auto is nccl with a GPU per rank, else gloo',
  ),
  allreduce: choiceOption(
    DDP_ALLREDUCE,
    'ddp',
    "how gradients are averaged: ddp is torch's DistributedDataParallel (bucketed all-reduces overlapped with " +
      'backward), flat one all-reduce of the whole gradient after backward',
  ),
} as const;

type DdpContext = RunContext<OptionValues<typeof DDP_OPTIONS>>;

function groupOptions(ctx: DdpContext): DdpGroupOptions {
  const { ddpTimeout, ddpBackend, allreduce } = ctx.options;
  return { timeoutSeconds: ddpTimeout, allreduce, ...(ddpBackend === 'auto' ? {} : { backend: ddpBackend }) };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function trainEpochs(ctx: RunContext, group: DdpGroup): Promise<void> {
  const { workload } = ctx;
  for (let epoch = 0; epoch < workload.epochs; epoch++) {
    let bytes = 0;
    let allreduceSeconds = 0;
    let trainSeconds = 0;
    let dropped = 0;
    for (let config = 0; config < workload.configs.length; config++) {
      // Reports one finished sub-epoch per (config, segment) to ctx.epochs.
      const result = await group.trainEpoch(config, epoch);
      bytes += result.allreduceBytes;
      allreduceSeconds += result.allreduceSeconds.reduce((a, b) => a + b, 0) / group.size;
      trainSeconds += result.trainSeconds.reduce((a, b) => a + b, 0) / group.size;
      dropped += result.ranks.reduce((a, r) => a + r.droppedExamples, 0);
    }
    await group.validateAll(epoch);
    ctx.log(
      `ddp epoch ${epoch}: ${workload.configs.length} configs on ${group.size} ranks ` +
        `(${group.backend}, all-reduce ${group.allreduce}); ${mb(bytes / group.size)} per rank to the collectives, ` +
        `${allreduceSeconds.toFixed(2)} s of ${trainSeconds.toFixed(2)} s training per rank ` +
        'with an all-reduce under way' +
        (dropped > 0 ? `; ${dropped} examples dropped to keep the ranks' mini-batch counts equal` : ''),
    );
  }
}

export function ddpApproach(options: DdpApproachOptions): Approach {
  return defineApproach<DdpPrepared, typeof DDP_OPTIONS>({
    id: options.id,
    title: options.title,
    layers: {
      scheduling: 'none; gradients all-reduced every mini-batch (DistributedDataParallel)',
      execution: 'out-of-DBMS, N processes train one config at a time',
      dataAccess: options.dataAccess,
      modelsLive: 'process memory',
    },
    options: DDP_OPTIONS,
    async verifyResume(ctx) {
      if (ctx.epochs.completedUnits.length === 0) return [];
      // Retraining from epoch 0 inside the same run folder would count those epochs twice.
      return [
        {
          message:
            `${options.id} keeps its models only in the interrupted attempt's process memory, which is gone, ` +
            `so ${ctx.runId} cannot be resumed (${ctx.epochs.completedUnits.length} sub-epochs were recorded)`,
          fix: `start a new run: bench run --approach ${options.id} ...`,
        },
      ];
    },
    async check(topology) {
      return [...(await checkWorkers()), ...((await options.check?.(topology)) ?? [])];
    },

    async prepare(ctx) {
      const packed = await packForRun(ctx);
      const { sources, copies } = await options.sources(ctx, packed.trainTable, packed.validTable);
      const group = await DdpGroup.start(ctx, sources, groupOptions(ctx));
      return { group, data: packedData(packed), copies };
    },

    train: (ctx, prepared) => trainEpochs(ctx, prepared.group),

    async cleanup(_ctx, prepared) {
      await prepared?.group.close();
    },
  });
}

export const ddp = ddpApproach({
  id: 'ddp',
  title: 'Data parallel: export to files, N processes all-reduce gradients every mini-batch (PytorchDDP)',
  dataAccess: 'exported files',
  async sources(ctx, trainTable, validTable) {
    const exported = await exportToFiles(ctx, trainTable, validTable);
    return { sources: exported.sources, copies: exported.copies };
  },
});
