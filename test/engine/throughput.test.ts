// Measures (prints, does not assert) the training throughput of the Criteo-like MLP 546-64-32-2,
// batch 256, 1 thread: the raw engine loop vs the worker (what out-of-DBMS approaches get).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/core/workload.js';
import { writeEngineDataFile, readEngineDataFile } from '../../src/engine/data-file.js';
import { runRawLoop } from '../../src/engine/rawloop.js';
import { EngineWorker } from '../../src/engine/worker.js';
import { learnableBuffers } from './synthetic.js';

const FEATURES = 546;
const BUFFERS = 16;
const ROWS = 1024;
const EPOCHS = 3; // per round; the raw loop's first epoch is a warm-up, not counted
const ROUNDS = 3;
const CONFIG: ModelConfig = {
  id: 0,
  arch: 'mlp',
  batchSize: 256,
  learningRate: 1e-3,
  l2: 1e-5,
  hidden: [64, 32],
  label: 'mlp 546-64-32-2 b256',
};

const dir = mkdtempSync(join(tmpdir(), 'bench-engine-tput-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('engine throughput (printed)', () => {
  it('MLP 546-64-32-2 batch 256, 1 thread: worker vs raw loop', async () => {
    const buffers = learnableBuffers(BUFFERS, ROWS, FEATURES, 9);
    const data = join(dir, 'criteo-like.bin');
    await writeEngineDataFile(data, { inputShape: [FEATURES], classes: 2, buffers });
    const back = await readEngineDataFile(data);
    expect(back.buffers.length).toBe(BUFFERS);
    expect(Buffer.compare(Buffer.from(back.buffers[3].x), Buffer.from(buffers[3].x))).toBe(0);

    // The cores are shared with other work: interleave the two and keep each one's best epoch.
    const examples = BUFFERS * ROWS;
    let raw = 0;
    let loop = 0;
    let request = 0;
    const worker = await EngineWorker.spawn({ threads: 1, label: 'tput' });
    try {
      const loaded = await worker.loadFile('train', data);
      expect(loaded.totalExamples).toBe(BUFFERS * ROWS);
      const model = join(dir, 'model.pt');
      for (let round = 0; round < ROUNDS; round++) {
        const result = await runRawLoop({ data, config: CONFIG, threads: 1, epochs: EPOCHS });
        expect(result.examples).toBe(EPOCHS * examples);
        for (const seconds of result.epochSeconds.slice(1)) raw = Math.max(raw, examples / seconds);
        for (let epoch = 1; epoch <= EPOCHS; epoch++) {
          const start = performance.now();
          const reply = await worker.train({
            config: CONFIG,
            seed: 0,
            modelIn: round + epoch === 1 ? null : model,
            modelOut: model,
            epoch,
          });
          const wallMs = performance.now() - start;
          if (round + epoch === 1) continue;
          const trainMs = reply.spans.filter((s) => s.kind === 'train').reduce((a, s) => a + s.end - s.start, 0);
          loop = Math.max(loop, examples / (trainMs / 1000));
          request = Math.max(request, examples / (wallMs / 1000));
        }
      }
    } finally {
      await worker.close();
    }
    console.log(
      [
        `engine throughput, ${CONFIG.label}, 1 thread, epochs of ${BUFFERS}x${ROWS} examples ` +
          `(best of ${ROUNDS} rounds):`,
        `  raw loop                     ${raw.toFixed(0)} examples/s`,
        `  worker, training loop        ${loop.toFixed(0)} examples/s (${(loop / raw).toFixed(3)}x raw)`,
        `  worker, request incl. hops   ${request.toFixed(0)} examples/s (${(request / raw).toFixed(3)}x raw)`,
      ].join('\n'),
    );
    expect(request).toBeGreaterThan(0);
  });
});
