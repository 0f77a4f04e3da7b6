// Unknown flags are named, with a did-you-mean, before yargs' "missing required argument".
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/core/paths.js';
import { runCommand } from '../../src/cli/commands/run.js';
import { commandFlags, unknownFlags } from '../../src/cli/flags.js';
import type { CommandModule } from 'yargs';

describe('unknown flags', () => {
  const known = commandFlags(runCommand as unknown as CommandModule<object, object>);

  it('knows a command flags and aliases', () => {
    for (const flag of ['approach', 'a', 'workload', 'w', 'runs-dir', 'option', 'o', 'help'])
      expect(known.has(flag)).toBe(true);
  });

  it('names each unknown flag with the closest known one', () => {
    expect(unknownFlags(['--aproach', 'ctq', '-w', 'criteo', '--sed=3', '-o', 'x=1'], known)).toEqual([
      'unknown flag --aproach; did you mean "--approach"?',
      'unknown flag --sed; did you mean "--seed"?',
    ]);
    expect(unknownFlags(['--zzzzzzzz'], known)).toEqual(['unknown flag --zzzzzzzz']);
  });

  it('bench run --aproach names the misspelt flag and exits 2', () => {
    const result = spawnSync(
      join(repoRoot(), 'node_modules', '.bin', 'tsx'),
      ['src/cli/main.ts', 'run', '--aproach', 'ctq', '-w', 'criteo'],
      {
        cwd: repoRoot(),
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('bench: unknown flag --aproach; did you mean "--approach"?');
  });
});
