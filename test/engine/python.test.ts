// Runs the Python engine's own unit tests (infra/engine/tests): decode, models, checkpoint round
// trips (weights and optimizer state), CNN steps, averaging, frames, the raw loop.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_PYTHONPATH, engineEnv, enginePython } from '../../src/engine/engine-python.js';

describe('bench_engine (Python unit tests)', () => {
  it('passes', () => {
    const result = spawnSync(enginePython(), ['-m', 'unittest', 'discover', '-s', join(ENGINE_PYTHONPATH, 'tests')], {
      cwd: ENGINE_PYTHONPATH,
      env: engineEnv({ threads: 1 }),
      encoding: 'utf8',
    });
    if (result.status !== 0) console.error(result.stdout, result.stderr);
    expect(result.error).toBeUndefined();
    expect(result.stderr).toMatch(/\nOK/);
    expect(result.status).toBe(0);
  });
});
