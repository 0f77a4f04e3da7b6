// Run the real `bench` command line in a child process, as a user would, and keep what it printed.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/core/paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function bench(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 280_000): Promise<CliResult> {
  const tsx = join(repoRoot(), 'node_modules', '.bin', 'tsx');
  return new Promise((resolve) => {
    execFile(
      tsx,
      [join(repoRoot(), 'src', 'cli', 'main.ts'), ...args],
      { cwd: repoRoot(), env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
