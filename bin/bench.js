#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx bench` works without a build step.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
// Transparent huge pages for large allocations: the direct reader writes hundreds of MB into new
// memory, and on a VM the page faults otherwise halve its speed (see bench/access.ts).
const env = { ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.hugetlb=1' };
const result = spawnSync(tsx, [join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
