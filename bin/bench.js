#!/usr/bin/env node
// Runs the TypeScript CLI in a child node with tsx's loader, so `npx bench` works without a build
// step. A child because glibc reads GLIBC_TUNABLES only when a process starts. This process passes
// every SIGINT, SIGTERM and SIGHUP it gets on to the CLI, which decides what they mean (the first
// stops the run cleanly, a later one forces the exit; copies of one Ctrl-C count once:
// src/run/interrupt.ts), and exits as the CLI did. `.npmrc` makes npx start this file without a
// shell in between (dash would swallow the SIGINT npx forwards); if the process that started us
// dies anyway, the CLI is told as if the terminal had closed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Transparent huge pages for large allocations: the direct reader writes hundreds of MB into new
// memory, and on a VM the page faults otherwise halve its speed (see bench/access.ts).
const env = { ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.hugetlb=1' };
const child = spawn(
  process.execPath,
  ['--import', import.meta.resolve('tsx'), join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env,
  },
);

const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of FORWARDED) process.on(signal, forward);

const parent = process.ppid;
const watchParent = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(watchParent);
    forward('SIGHUP');
  }
}, 500);
watchParent.unref();

child.on('error', (error) => {
  console.error(`bench: cannot start ${process.execPath}: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  clearInterval(watchParent);
  if (signal) {
    for (const s of FORWARDED) process.off(s, forward);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
