// The resource sampler (docs/measurement.md, "CPU and DRAM"): CPU, DRAM, disk, network and GPU,
// system-wide and for the run's own processes, appended to samples.jsonl as each sample is taken.
//
// System figures come straight from /proc (stat, meminfo, diskstats, net/dev): a few small
// synchronous reads per sample, far cheaper than systeminformation (bench/sampler.ts measures
// both). The run's processes come in named groups (each segment's server, the coordinator, the
// engine workers, the harness): a group is every descendant of its roots not already in an
// earlier group, found by walking /proc/<pid>/task/*/children (or all of /proc). CPU comes from
// /proc/<pid>/stat, memory from /proc/<pid>/statm, storage I/O from /proc/<pid>/io.
// GPU figures come from ONE long-lived `nvidia-smi ... -lms N` child when nvidia-smi exists.
//
// Units: cpuPct (system, tree and groups) is percent of the whole machine (all cores = 100).
// Byte counters are cumulative since the sampler started. Tree I/O of a process that exits
// is kept at its last reading; tree CPU of a process that exits between two samples is lost
// for that interval. Tree RSS is the sum of the processes' RSS (shared pages, e.g.
// PostgreSQL's shared buffers, count once per process that maps them). A group's memBytes
// counts each process's private resident memory (resident - shared, statm) plus the largest
// shared resident set in the group (a server's shared buffers, the engine's libraries) once:
// what the group holds, without counting a page once per process that maps it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Sample } from '../core/records.js';

export interface SamplerOptions {
  /** Path of samples.jsonl; each sample is appended as it is taken. */
  out: string;
  /** Default 1000. */
  intervalMs?: number;
  /** The run's process groups, in order: a process belongs to the first group whose roots it descends from. */
  processGroups: () => ProcessGroupRoots[];
  /** Override GPU discovery: a path to nvidia-smi, or null for no GPU. Default: look on PATH. */
  nvidiaSmi?: string | null;
}

/** A named group of the run's processes: its roots and all their descendants. */
export interface ProcessGroupRoots {
  name: string;
  pids: readonly number[];
}

export interface Sampler {
  /** Takes a last sample, stops, and returns every sample taken. */
  stop(): Promise<Sample[]>;
}

// ---------------------------------------------------------------------------------------
// /proc readers (exported for tests and the benchmark)

const scratch = Buffer.alloc(1 << 16);

/** Reads a small /proc file with one open/read/close into a shared buffer (no fstat, no allocation). */
function readText(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let length = 0;
    for (;;) {
      const n = readSync(fd, scratch, length, scratch.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === scratch.length) return readFileSync(path, 'latin1'); // bigger than the buffer
    }
    return scratch.toString('latin1', 0, length);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Busy and total jiffies of all CPUs (guest time is already inside user time). */
export function readCpuTimes(text = readText('/proc/stat')): { busy: number; total: number } {
  const line = text?.split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export function readMemory(text = readText('/proc/meminfo')): { used: number; total: number } {
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text ?? '');
    return m ? Number(m[1]) * 1024 : 0;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  return { used: Math.max(0, total - available), total };
}

let physicalDisks: Set<string> | null = null;
/** Whole physical block devices: /sys/block minus loop, ram, zram and stacked (dm, md) devices. */
function diskNames(): Set<string> {
  if (physicalDisks === null) {
    let names: string[] = [];
    try {
      names = readdirSync('/sys/block');
    } catch {
      names = [];
    }
    physicalDisks = new Set(names.filter((n) => !/^(loop|ram|zram|dm-|md|nbd|sr|fd)/.test(n)));
  }
  return physicalDisks;
}

export function readDisks(text = readText('/proc/diskstats'), disks = diskNames()): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !disks.has(f[2])) continue;
    read += Number(f[5]) * 512;
    write += Number(f[9]) * 512;
  }
  return { read, write };
}

/** Bytes received and sent over every interface, loopback included. */
export function readNetwork(text = readText('/proc/net/dev')): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of (text ?? '').split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    rx += Number(f[0]) || 0;
    tx += Number(f[8]) || 0;
  }
  return { rx, tx };
}

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, clock ticks. */
  ticks: number;
  /** Clock ticks after boot at which the process started (tells a reused pid apart). */
  startTime: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Fields after the name, numbered from 3 (state) as in proc(5).
  const f = text.slice(close + 2).split(' ');
  const field = (n: number): number => Number(f[n - 3]);
  return { pid, ppid: field(4), ticks: field(14) + field(15), startTime: field(22), rssPages: field(24) };
}

export function readAllProcStats(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const text = readText(`/proc/${name}/stat`);
    if (text === null) continue;
    const stat = parseProcStat(text);
    if (stat !== null) out.push(stat);
  }
  return out;
}

/** The roots (those alive) and all their descendants, less those in `skip` (and theirs). */
export function descendants(
  stats: readonly ProcStat[],
  roots: readonly number[],
  skip: ReadonlySet<number> = new Set(),
): ProcStat[] {
  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, number[]>();
  for (const s of stats) {
    byPid.set(s.pid, s);
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  const seen = new Set<number>();
  const queue = roots.filter((pid) => byPid.has(pid));
  const out: ProcStat[] = [];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid) || skip.has(pid)) continue;
    seen.add(pid);
    out.push(byPid.get(pid)!);
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  return out;
}

let childrenFiles: boolean | null = null;

/**
 * The roots (those alive) and their descendants, found through /proc/<pid>/task/<tid>/children
 * (one small read per thread of the tree, instead of reading every process on the machine);
 * falls back to scanning all of /proc where the kernel has no children files. Processes in
 * `seen` are skipped (with their descendants); those found are added to it.
 */
export function readTree(roots: readonly number[], seen = new Set<number>()): ProcStat[] {
  childrenFiles ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  if (!childrenFiles) {
    const found = descendants(
      readAllProcStats(),
      roots.filter((pid) => !seen.has(pid)),
      seen,
    );
    for (const p of found) seen.add(p.pid);
    return found;
  }
  const out: ProcStat[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const text = readText(`/proc/${pid}/stat`);
    const stat = text === null ? null : parseProcStat(text);
    if (stat === null) continue;
    out.push(stat);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const children = readText(`/proc/${pid}/task/${tid}/children`);
      if (children === null) continue;
      for (const child of children.trim().split(/\s+/)) if (child !== '') queue.push(Number(child));
    }
  }
  return out;
}

/** /proc/<pid>/statm: resident and shared (file-backed + shmem) pages. */
export function parseStatm(text: string | null): { residentPages: number; sharedPages: number } | null {
  if (text === null) return null;
  const f = text.trim().split(' ');
  if (f.length < 3) return null;
  return { residentPages: Number(f[1]), sharedPages: Number(f[2]) };
}

export function parseProcIo(text: string | null): { read: number; write: number } | null {
  if (text === null) return null;
  const read = /^read_bytes:\s*(\d+)/m.exec(text);
  const write = /^write_bytes:\s*(\d+)/m.exec(text);
  if (!read || !write) return null;
  return { read: Number(read[1]), write: Number(write[1]) };
}

// ---------------------------------------------------------------------------------------
// nvidia-smi

export interface GpuReading {
  utilPct: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

export const NVIDIA_QUERY = 'index,utilization.gpu,memory.used,memory.total';

/**
 * One line of `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits`: "0, 45, 1234, 81559" (memory in MiB). null for a line
 * that is not a reading (a header, "[N/A]", "[Not Supported]").
 */
export function parseNvidiaSmiLine(line: string): { index: number; reading: GpuReading } | null {
  const f = line.split(',').map((x) => x.trim());
  if (f.length !== 4 || f.some((x) => x === '' || !Number.isFinite(Number(x)))) return null;
  const [index, util, used, total] = f.map(Number);
  return { index, reading: { utilPct: util, memUsedBytes: used * 1024 * 1024, memTotalBytes: total * 1024 * 1024 } };
}

/** All GPUs as one: mean utilisation, summed memory. */
export function combineGpus(readings: readonly GpuReading[]): GpuReading | null {
  if (readings.length === 0) return null;
  return {
    utilPct: readings.reduce((s, r) => s + r.utilPct, 0) / readings.length,
    memUsedBytes: readings.reduce((s, r) => s + r.memUsedBytes, 0),
    memTotalBytes: readings.reduce((s, r) => s + r.memTotalBytes, 0),
  };
}

export function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

class GpuWatcher {
  private latest = new Map<number, GpuReading>();
  private buffer = '';
  private child: ChildProcess | null;

  constructor(executable: string, intervalMs: number) {
    this.child = spawn(
      executable,
      [
        `--query-gpu=${NVIDIA_QUERY}`,
        '--format=csv,noheader,nounits',
        `-lms`,
        String(Math.max(50, Math.round(intervalMs))),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // If nvidia-smi fails or exits, stop reporting its last (stale) readings.
    this.child.on('error', () => {
      this.child = null;
      this.latest.clear();
    });
    this.child.on('exit', () => {
      this.child = null;
      this.latest.clear();
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const parsed = parseNvidiaSmiLine(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
        if (parsed) this.latest.set(parsed.index, parsed.reading);
      }
    });
    // Never keep the process alive on the sampler's account.
    this.child.unref();
    (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  }

  reading(): GpuReading | null {
    return combineGpus([...this.latest.values()]);
  }

  stop(): void {
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}

// ---------------------------------------------------------------------------------------
// The sampler

function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

interface TreeProcess {
  /** Bytes already done when the sampler first saw it (only for processes alive at start). */
  baseRead: number;
  baseWrite: number;
  lastRead: number;
  lastWrite: number;
  lastTicks: number;
}

/** One group's processes in one scan: how many, CPU ticks since the last scan, memory bytes. */
interface GroupReading {
  pids: number;
  ticks: number;
  mem: number;
}

/** Takes samples on demand; startSampler drives it with a timer. */
export class SampleTaker {
  private readonly clockTicks = getconf('CLK_TCK', 100);
  private readonly pageSize = getconf('PAGESIZE', 4096);
  private readonly cores = Math.max(1, cpus().length);
  private readonly tree = new Map<string, TreeProcess>();
  private prevCpu = readCpuTimes();
  private prevAt = performance.now();
  private readonly base: { disk: { read: number; write: number }; net: { rx: number; tx: number } };
  private treeRead = 0;
  private treeWrite = 0;

  constructor(
    private readonly groups: () => ProcessGroupRoots[],
    private readonly gpu: () => GpuReading | null = () => null,
  ) {
    this.base = { disk: readDisks(), net: readNetwork() };
    this.scanTree(true);
  }

  /** Reads every group; returns per group its pids, CPU ticks since the last scan and memory, and the RSS sum. */
  private scanTree(initial: boolean): { groups: Map<string, GroupReading>; rss: number } {
    const seen = new Set<number>();
    const groups = new Map<string, GroupReading>();
    let rss = 0;
    for (const group of this.groups()) {
      const procs = readTree(group.pids, seen);
      let ticks = 0;
      let privateBytes = 0;
      let largestShared = 0;
      for (const p of procs) {
        const key = `${p.pid}@${p.startTime}`;
        const io = parseProcIo(readText(`/proc/${p.pid}/io`));
        let known = this.tree.get(key);
        if (known === undefined) {
          // Alive when the sampler started: count from now on. Born later: count all of it.
          known = {
            baseRead: initial ? (io?.read ?? 0) : 0,
            baseWrite: initial ? (io?.write ?? 0) : 0,
            lastRead: initial ? (io?.read ?? 0) : 0,
            lastWrite: initial ? (io?.write ?? 0) : 0,
            lastTicks: initial ? p.ticks : 0,
          };
          this.tree.set(key, known);
        }
        ticks += Math.max(0, p.ticks - known.lastTicks);
        known.lastTicks = p.ticks;
        if (io !== null) {
          this.treeRead += Math.max(0, io.read - known.lastRead);
          this.treeWrite += Math.max(0, io.write - known.lastWrite);
          known.lastRead = io.read;
          known.lastWrite = io.write;
        }
        rss += p.rssPages * this.pageSize;
        const statm = parseStatm(readText(`/proc/${p.pid}/statm`));
        if (statm !== null) {
          privateBytes += Math.max(0, statm.residentPages - statm.sharedPages) * this.pageSize;
          largestShared = Math.max(largestShared, statm.sharedPages * this.pageSize);
        }
      }
      const entry = groups.get(group.name) ?? { pids: 0, ticks: 0, mem: 0 };
      const mem = entry.mem + privateBytes + largestShared;
      groups.set(group.name, { pids: entry.pids + procs.length, ticks: entry.ticks + ticks, mem });
    }
    return { groups, rss };
  }

  take(): Sample {
    const now = performance.now();
    const elapsedSeconds = Math.max(1e-3, (now - this.prevAt) / 1000);
    this.prevAt = now;
    const cpu = readCpuTimes();
    const dBusy = cpu.busy - this.prevCpu.busy;
    const dTotal = cpu.total - this.prevCpu.total;
    this.prevCpu = cpu;
    const mem = readMemory();
    const disk = readDisks();
    const net = readNetwork();
    const tree = this.scanTree(false);
    const cpuPct = (ticks: number): number =>
      Math.min(100, (100 * ticks) / this.clockTicks / elapsedSeconds / this.cores);
    const groups: NonNullable<Sample['tree']['groups']> = {};
    let pids = 0;
    let ticks = 0;
    let memBytes = 0;
    for (const [name, g] of tree.groups) {
      groups[name] = { pids: g.pids, cpuPct: cpuPct(g.ticks), memBytes: g.mem };
      pids += g.pids;
      ticks += g.ticks;
      memBytes += g.mem;
    }
    return {
      t: Date.now(),
      system: {
        cpuPct: dTotal > 0 ? (100 * dBusy) / dTotal : 0,
        memUsedBytes: mem.used,
        memTotalBytes: mem.total,
        diskReadBytes: Math.max(0, disk.read - this.base.disk.read),
        diskWriteBytes: Math.max(0, disk.write - this.base.disk.write),
        netRxBytes: Math.max(0, net.rx - this.base.net.rx),
        netTxBytes: Math.max(0, net.tx - this.base.net.tx),
      },
      tree: {
        pids,
        cpuPct: cpuPct(ticks),
        rssBytes: tree.rss,
        readBytes: this.treeRead,
        writeBytes: this.treeWrite,
        memBytes,
        groups,
      },
      gpu: this.gpu(),
    };
  }
}

export function startSampler(options: SamplerOptions): Sampler {
  const intervalMs = options.intervalMs ?? 1000;
  mkdirSync(dirname(options.out), { recursive: true });
  const smi = options.nvidiaSmi === undefined ? findOnPath('nvidia-smi') : options.nvidiaSmi;
  const gpu = smi !== null ? new GpuWatcher(smi, intervalMs) : null;
  const taker = new SampleTaker(options.processGroups, () => gpu?.reading() ?? null);
  const samples: Sample[] = [];
  let stopped = false;
  let failure: unknown = null;

  const tick = (): void => {
    if (stopped) return;
    try {
      const sample = taker.take();
      samples.push(sample);
      appendFileSync(options.out, JSON.stringify(sample) + '\n');
    } catch (error) {
      // Keep sampling; report the first failure when stopped.
      failure ??= error;
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  return {
    async stop(): Promise<Sample[]> {
      if (!stopped) {
        tick();
        stopped = true;
        clearInterval(timer);
        gpu?.stop();
      }
      if (failure !== null) {
        const error = failure;
        failure = null;
        throw new Error(`sampler failed (samples go to ${options.out}): ${String(error)}`, { cause: error });
      }
      return samples;
    },
  };
}
