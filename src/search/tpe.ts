// TPE through Optuna's TPESampler (docs/search.md): a long-lived Python child
// (`python3 -m bench_engine.search`, infra/engine/bench_engine/search.py) speaking JSON lines,
// ask/tell. Requests are serialised: one line out, one line back, in order.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { searchParamsSchema, type SearchSpace } from '../core/search.js';
import { engineEnv, enginePython } from '../engine/engine-python.js';
import { inSpace } from './space.js';
import type { Ask, Searcher } from './types.js';

export const OPTUNA_INSTALL_FIX = 'bash infra/setup.sh (or: apt-get install python3-optuna)';

const replySchema = z.union([
  z.object({ ok: z.literal(true), trial: z.number().int().optional(), params: searchParamsSchema.optional() }).loose(),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
type Reply = z.infer<typeof replySchema>;

export interface TpeOptions {
  space: SearchSpace;
  trials: number;
  maxEpochs: number;
  seed: number;
  /** Trials sampled at random before TPE models the results. */
  startupTrials: number;
}

/** The Optuna child: one request at a time, each answered by one JSON line. */
export class OptunaChild {
  private readonly pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private stderr = '';
  private exited: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) return;
      try {
        waiter.resolve(replySchema.parse(JSON.parse(line)));
      } catch (error) {
        waiter.reject(
          new Error(`the Optuna child answered something that is not a reply: ${line.slice(0, 200)}`, { cause: error }),
        );
      }
    });
    const fail = (error: Error): void => {
      this.exited ??= error;
      for (const waiter of this.pending.splice(0)) waiter.reject(this.exited);
    };
    child.on('error', (error) =>
      fail(new Error(`cannot run ${enginePython()}: ${error.message}; ${OPTUNA_INSTALL_FIX}`)),
    );
    child.on('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderr.trim() ? `; last lines on stderr:\n${this.stderr.trimEnd()}` : '';
      const hint = /No module named 'optuna'/.test(this.stderr) ? ` (Optuna is missing: ${OPTUNA_INSTALL_FIX})` : '';
      fail(new Error(`the Optuna child (pid ${child.pid ?? '?'}) ${how}${hint}${tail}`));
    });
  }

  static start(): OptunaChild {
    const child = spawn(enginePython(), ['-m', 'bench_engine.search'], {
      env: engineEnv({ threads: 1 }),
      stdio: 'pipe',
    });
    return new OptunaChild(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one request and resolves with its successful reply; an {ok: false} reply rejects. */
  request(message: Record<string, unknown>): Promise<Extract<Reply, { ok: true }>> {
    const run = async (): Promise<Extract<Reply, { ok: true }>> => {
      if (this.exited) throw this.exited;
      const reply = await new Promise<Reply>((resolve, reject) => {
        this.pending.push({ resolve, reject });
        this.child.stdin.write(`${JSON.stringify(message)}\n`);
      });
      if (!reply.ok) throw new Error(`Optuna: '${String(message.op)}' failed: ${reply.error}`);
      return reply;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** TPE over `space`: `trials` new configs, each trained for `maxEpochs`. */
export async function createTpeSearcher(options: TpeOptions): Promise<Searcher> {
  const { space, trials, maxEpochs } = options;
  const child = OptunaChild.start();
  try {
    await child.request({ op: 'init', seed: options.seed, startupTrials: options.startupTrials, space });
  } catch (error) {
    await child.close();
    throw error;
  }
  let proposed = 0;
  return {
    name: 'tpe',
    async ask(): Promise<Ask> {
      if (proposed >= trials) return 'done';
      const reply = await child.request({ op: 'ask' });
      if (reply.trial !== proposed || !reply.params) {
        throw new Error(`Optuna proposed trial ${String(reply.trial)} where trial ${proposed} was due`);
      }
      if (!inSpace(space, reply.params))
        throw new Error(`Optuna proposed a point outside the space: ${JSON.stringify(reply.params)}`);
      proposed++;
      return { kind: 'new', params: reply.params, epochs: maxEpochs };
    },
    async tell(job: number, value: number | null): Promise<void> {
      await child.request({ op: 'tell', trial: job, value: value !== null && Number.isFinite(value) ? value : null });
    },
    close: () => child.close(),
  };
}
