import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  combineGpus,
  descendants,
  parseNvidiaSmiLine,
  parseProcIo,
  parseProcStat,
  readCpuTimes,
  readNetwork,
  startSampler,
  type ProcessGroupRoots,
} from '../../src/metrics/sampler.js';
import { sampleSchema } from '../../src/core/records.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-sampler-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('proc parsers', () => {
  it('parses /proc/<pid>/stat with a command name holding spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[4 - 3] = '77'; // ppid
    fields[14 - 3] = '120'; // utime
    fields[15 - 3] = '30'; // stime
    fields[22 - 3] = '999'; // starttime
    fields[24 - 3] = '256'; // rss pages
    const stat = parseProcStat(`4242 (my (odd) name) ${fields.join(' ')}`);
    expect(stat).toEqual({ pid: 4242, ppid: 77, ticks: 150, startTime: 999, rssPages: 256 });
  });

  it('finds the descendants of the roots', () => {
    const p = (pid: number, ppid: number) => ({ pid, ppid, ticks: 0, startTime: 0, rssPages: 0 });
    const tree = descendants([p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(20, 1), p(21, 20), p(30, 1)], [10, 21, 999]);
    expect(tree.map((x) => x.pid).sort((a, b) => a - b)).toEqual([10, 11, 12, 21]);
  });

  it('parses /proc/<pid>/io, /proc/stat and /proc/net/dev text', () => {
    expect(parseProcIo('rchar: 1\nwchar: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n')).toEqual({
      read: 4096,
      write: 8192,
    });
    expect(parseProcIo(null)).toBeNull();
    expect(readCpuTimes('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 150, total: 1000 });
    const net = [
      'Inter-|   Receive  |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets',
      'lo:  1000    10    0    0    0     0          0         0   1000    10    0    0    0     0       0         ' +
        '0',
      '  eth0: 500    5    0    0    0     0          0         0   200    2    0    0    0     0       0          0',
    ].join('\n');
    expect(readNetwork(net)).toEqual({ rx: 1500, tx: 1200 });
  });

  it('parses nvidia-smi csv lines and combines GPUs', () => {
    expect(parseNvidiaSmiLine('0, 45, 1024, 81920')).toEqual({
      index: 0,
      reading: { utilPct: 45, memUsedBytes: 1024 * 2 ** 20, memTotalBytes: 81920 * 2 ** 20 },
    });
    expect(parseNvidiaSmiLine('0, [N/A], 1024, 81920')).toBeNull();
    expect(parseNvidiaSmiLine('index, utilization.gpu [%], memory.used [MiB], memory.total [MiB]')).toBeNull();
    expect(parseNvidiaSmiLine('')).toBeNull();
    expect(combineGpus([])).toBeNull();
    expect(
      combineGpus([
        { utilPct: 40, memUsedBytes: 1, memTotalBytes: 10 },
        { utilPct: 60, memUsedBytes: 3, memTotalBytes: 10 },
      ]),
    ).toEqual({ utilPct: 50, memUsedBytes: 4, memTotalBytes: 20 });
  });
});

describe('startSampler', () => {
  it('appends schema-valid samples as it goes and follows the process tree', async () => {
    const out = join(dir, 'a', 'samples.jsonl');
    const target = join(dir, 'written.bin');
    const harness = (): ProcessGroupRoots[] => [{ name: 'harness', pids: [process.pid] }];
    const sampler = startSampler({ out, intervalMs: 100, processGroups: harness, nvidiaSmi: null });
    // A child, born after the sampler started, that writes 4 MiB to disk (fsync) and stays alive long enough to be
    // sampled.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(target)},'w');` +
          'fs.writeSync(fd,Buffer.alloc(4<<20,120));fs.fsyncSync(fd);setTimeout(()=>{},1500)',
      ],
      { stdio: 'ignore' },
    );
    await sleep(450);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2); // appended before stop
    await sleep(700);
    const samples = await sampler.stop();
    child.kill();
    expect(samples.length).toBeGreaterThanOrEqual(8);
    const written = readFileSync(out, 'utf8').trim().split('\n');
    expect(written).toHaveLength(samples.length);
    for (const line of written) expect(sampleSchema.safeParse(JSON.parse(line)).success).toBe(true);
    const last = samples[samples.length - 1];
    expect(last.gpu).toBeNull();
    expect(last.system.memTotalBytes).toBeGreaterThan(0);
    expect(last.system.cpuPct).toBeGreaterThanOrEqual(0);
    expect(last.system.cpuPct).toBeLessThanOrEqual(100);
    expect(Math.max(...samples.map((s) => s.tree.pids))).toBeGreaterThanOrEqual(2); // this process + the child
    expect(last.tree.rssBytes).toBeGreaterThan(10e6);
    expect(last.tree.writeBytes).toBeGreaterThanOrEqual(4 << 20);
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i].t).toBeGreaterThanOrEqual(samples[i - 1].t);
      expect(samples[i].tree.writeBytes).toBeGreaterThanOrEqual(samples[i - 1].tree.writeBytes);
      expect(samples[i].system.netTxBytes).toBeGreaterThanOrEqual(samples[i - 1].system.netTxBytes);
    }
  });

  it('splits the run into process groups: a process counts once, in the first group it descends from', async () => {
    // A CPU-busy child of this process, declared as an engine worker: it must count there, not in the harness.
    const spin = 'const a=[];for(let i=0;i<2e5;i++)a.push(i);const t=Date.now();while(Date.now()-t<1500){}';
    const busy = spawn(process.execPath, ['-e', spin], { stdio: 'ignore' });
    const groups = (): ProcessGroupRoots[] => [
      { name: 'engine workers', pids: busy.pid === undefined ? [] : [busy.pid] },
      { name: 'harness', pids: [process.pid] },
    ];
    const out = join(dir, 'groups.jsonl');
    const sampler = startSampler({ out, intervalMs: 200, processGroups: groups, nvidiaSmi: null });
    await sleep(1100);
    const samples = await sampler.stop();
    busy.kill();
    const inside = samples.slice(1, -1);
    expect(inside.length).toBeGreaterThan(0);
    for (const s of inside) {
      const g = s.tree.groups!;
      expect(g['engine workers'].pids).toBe(1);
      expect(g.harness.pids).toBe(1); // this process only: its child is the worker
      expect(g['engine workers'].memBytes).toBeGreaterThan(1e6);
      expect(s.tree.memBytes).toBe(g['engine workers'].memBytes + g.harness.memBytes);
      expect(s.tree.cpuPct).toBeCloseTo(g['engine workers'].cpuPct + g.harness.cpuPct, 5);
    }
    // The busy loop runs whenever the (shared, busy) machine lets it: its CPU shows up in its group, not the harness's.
    const workerCpu = inside.map((s) => s.tree.groups!['engine workers'].cpuPct);
    expect(Math.max(...workerCpu)).toBeGreaterThan(1);
  });

  it('reads the GPU through one long-lived nvidia-smi child', async () => {
    const fake = join(dir, 'nvidia-smi');
    const log = join(dir, 'nvidia-smi.args');
    writeFileSync(
      fake,
      `#!/bin/sh\necho "$@" >> ${log}\n` +
        'while true; do echo "0, 40, 1024, 4096"; echo "1, 60, 3072, 4096"; sleep 0.05; done\n',
    );
    chmodSync(fake, 0o755);
    const harness = (): ProcessGroupRoots[] => [{ name: 'harness', pids: [process.pid] }];
    const out = join(dir, 'gpu.jsonl');
    const sampler = startSampler({ out, intervalMs: 100, processGroups: harness, nvidiaSmi: fake });
    await sleep(500);
    const samples = await sampler.stop();
    const gpu = samples.map((s) => s.gpu).filter((g) => g !== null);
    expect(gpu.length).toBeGreaterThan(0);
    expect(gpu[gpu.length - 1]).toEqual({ utilPct: 50, memUsedBytes: 4096 * 2 ** 20, memTotalBytes: 8192 * 2 ** 20 });
    const invocations = readFileSync(log, 'utf8').trim().split('\n');
    expect(invocations).toHaveLength(1);
    expect(invocations[0]).toContain('--format=csv,noheader,nounits');
    expect(invocations[0]).toContain('-lms 100');
  });
});
