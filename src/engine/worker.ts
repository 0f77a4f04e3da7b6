// A long-lived Python engine worker (`python3 -m bench_engine.worker`) and its typed client.
// Requests are serialised per worker: one frame out, one frame back, in order.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ENGINE_INSTALL_FIX, engineEnv, enginePython } from './engine-python.js';
import { encodeFrame, frameLength, FrameParser, type Frame, type Payload, writeChunks } from './protocol.js';
import type {
  ClearReply,
  DatasetName,
  ErrorReply,
  HelloReply,
  InitReply,
  InitRequest,
  LoadReply,
  LoadRequest,
  TrainBytesRequest,
  TrainReply,
  TrainRequest,
  ValidateBytesRequest,
  ValidateReply,
  ValidateRequest,
} from './messages.js';

/** The worker process ended (crashed, was killed) while a request was pending or before one. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
  constructor(
    readonly label: string,
    readonly pid: number | undefined,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last lines the process printed on stderr. */
    readonly stderr: string,
    /** The request that was pending or refused. */
    readonly op: string | undefined,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const during = op ? ` (request '${op}')` : '';
    const tail = stderr.trim() ? `; last lines on stderr:\n${stderr.trimEnd()}` : '; it printed nothing on stderr';
    super(`engine worker ${label} (pid ${pid ?? '?'}) ${how}${during}${tail}`);
  }
}

/** The worker was closed with close(); no further requests. */
export class WorkerClosedError extends Error {
  override name = 'WorkerClosedError';
  constructor(
    readonly label: string,
    readonly op: string | undefined,
  ) {
    super(`engine worker ${label} is closed${op ? ` (request '${op}' refused)` : ''}`);
  }
}

/** The worker answered {ok: false}: the request failed, the worker lives on. */
export class EngineRequestError extends Error {
  override name = 'EngineRequestError';
  constructor(
    readonly label: string,
    readonly op: string,
    readonly error: string,
    readonly traceback: string | undefined,
  ) {
    super(`engine worker ${label}: '${op}' failed: ${error}`);
  }
}

/** The engine cannot run on this machine (no Python, no torch); `fix` says how to install it. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
  readonly fix = ENGINE_INSTALL_FIX;
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(`${message}. Install the engine: ${ENGINE_INSTALL_FIX}${detail ? `\n${detail}` : ''}`);
  }
}

export interface EngineWorkerOptions {
  /** torch intra-op (and inter-op) threads. */
  threads: number;
  /** Extra environment, over process.env (engine variables are set on top). */
  env?: NodeJS.ProcessEnv;
  /** A name for messages, e.g. 'seg2'. */
  label?: string;
  /** Interpreter (default: BENCH_PYTHON or /usr/bin/python3). */
  python?: string;
  /** Called with every line the worker prints on stderr. */
  onStderr?: (line: string) => void;
  /** How long to wait for the worker's hello (importing torch) before killing it; default 180 s. */
  startTimeoutMs?: number;
}

const STDERR_LINES = 40;
const EXIT_MISSING_TORCH = 3;

interface Pending {
  op: string;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

export class EngineWorker {
  readonly pid: number;
  readonly label: string;
  /** The worker's hello reply: torch version, device, import time. */
  info!: HelloReply;
  /** Wall-clock ms when the process was spawned and when it answered hello (an 'engine-init' span). */
  readonly spawnedAt: number;
  readyAt = 0;
  /** Bytes written to / read from the worker's pipes (frames included). */
  bytesSent = 0;
  bytesReceived = 0;

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly parser = new FrameParser();
  private readonly stderrLines: string[] = [];
  private stderrPartial = '';
  private pending: Pending | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private closing = false;
  private exitRequested = false;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcessWithoutNullStreams, label: string, onStderr?: (line: string) => void) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.label = label;
    this.spawnedAt = Date.now();
    child.stdin.on('error', () => {
      // EPIPE when the process died: its 'close' event reports the crash.
    });
    child.on('error', (error) => {
      // E.g. a failed kill; keep it for the crash report instead of an unhandled 'error' event.
      this.addStderr(`bench: worker process error: ${error.message}`, onStderr);
    });
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const lines = (this.stderrPartial + text).split('\n');
      this.stderrPartial = lines.pop() ?? '';
      for (const line of lines) this.addStderr(line, onStderr);
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        if (this.stderrPartial) this.addStderr(this.stderrPartial, onStderr);
        this.stderrPartial = '';
        this.exitInfo = { code, signal };
        const pending = this.pending;
        this.pending = undefined;
        if (pending) pending.reject(this.deadError(pending.op));
        resolve();
      });
    });
  }

  /** Starts a worker and waits for its hello. Rejects with EngineUnavailableError when Python
   * or torch is missing, WorkerCrashedError when it dies on the way up. */
  static async spawn(options: EngineWorkerOptions): Promise<EngineWorker> {
    const python = options.python ?? enginePython();
    const threads = Math.max(1, Math.floor(options.threads));
    const env = engineEnv({ threads, base: { ...process.env, ...options.env } });
    const child = spawn(python, ['-m', 'bench_engine.worker', '--threads', String(threads)], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C is the run's to handle (it closes the workers itself), not
      // a KeyboardInterrupt in the middle of a sub-epoch. The worker still dies with this process
      // (PR_SET_PDEATHSIG).
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') {
          reject(new EngineUnavailableError(`Python not found at ${python} (BENCH_PYTHON overrides it)`));
        } else {
          reject(new EngineUnavailableError(`cannot start ${python}: ${error.message}`));
        }
      });
    });
    const worker = new EngineWorker(child, options.label ?? `pid ${child.pid}`, options.onStderr);
    const startTimeoutMs = options.startTimeoutMs ?? 180_000;
    const timer = setTimeout(() => {
      worker.addStderr(`bench: no hello after ${startTimeoutMs} ms; killing the worker`);
      worker.kill();
    }, startTimeoutMs);
    try {
      const { header } = await worker.request<HelloReply>({ op: 'hello' });
      worker.info = header;
      worker.readyAt = Date.now();
      return worker;
    } catch (error) {
      if (error instanceof WorkerCrashedError) {
        if (error.code === EXIT_MISSING_TORCH || /BENCH_ENGINE_MISSING|No module named/.test(error.stderr)) {
          throw new EngineUnavailableError(`${python} cannot import torch or the engine`, error.stderr.trim());
        }
      }
      worker.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines the worker printed on stderr. */
  get stderr(): string {
    return this.stderrLines.join('\n');
  }

  /**
   * Sends one request and resolves with the reply (header and payload). Requests are queued
   * and run one at a time. Rejects with EngineRequestError when the worker answers
   * {ok: false}, WorkerCrashedError when the process is gone or dies meanwhile.
   */
  request<T = Record<string, unknown>>(header: object, payload?: Payload): Promise<{ header: T; payload: Buffer }> {
    const run = () => this.exchange<T>(header, payload);
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async exchange<T>(header: object, payload: Payload): Promise<{ header: T; payload: Buffer }> {
    const op = String((header as { op?: unknown }).op);
    if (this.exitInfo || this.failure) throw this.failure ?? this.deadError(op);
    if (this.exitRequested) throw new WorkerClosedError(this.label, op);
    if (op === 'exit') this.exitRequested = true;
    const response = new Promise<Frame>((resolve, reject) => {
      this.pending = { op, resolve, reject };
    });
    const chunks = encodeFrame(header, payload);
    writeChunks(this.child.stdin, chunks).then(
      () => {
        this.bytesSent += frameLength(chunks);
      },
      () => {
        // The pipe broke: the process is dying; 'close' rejects the pending request.
      },
    );
    const frame = await response;
    const reply = frame.header as unknown as ErrorReply | { ok: true };
    if (reply.ok !== true) {
      const failed = reply as ErrorReply;
      throw new EngineRequestError(this.label, op, failed.error ?? 'unknown error', failed.traceback);
    }
    return { header: frame.header as T, payload: frame.payload };
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) {
      const pending = this.pending;
      this.pending = undefined;
      if (pending) pending.resolve(frame);
      else this.fail(new Error(`engine worker ${this.label} sent a reply nobody asked for`));
    }
  }

  /** A protocol violation: the worker cannot be trusted any more. */
  private fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
    this.kill();
  }

  private addStderr(line: string, onStderr?: (line: string) => void): void {
    this.stderrLines.push(line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
    if (this.stderrLines.length > STDERR_LINES) this.stderrLines.shift();
    onStderr?.(line);
  }

  private deadError(op: string | undefined): Error {
    if (this.exitRequested && op !== 'exit') return new WorkerClosedError(this.label, op);
    const info = this.exitInfo ?? { code: null, signal: null };
    return new WorkerCrashedError(this.label, this.pid, info.code, info.signal, this.stderr, op);
  }

  // -- typed operations -------------------------------------------------------------------

  async hello(): Promise<HelloReply> {
    return (await this.request<HelloReply>({ op: 'hello' })).header;
  }

  /** Sends packed buffers; the worker decodes them once and keeps them (load appends). */
  async load(request: LoadRequest): Promise<LoadReply> {
    const payload: Uint8Array[] = [];
    const buffers = request.buffers.map((b) => {
      payload.push(b.x, b.y);
      return { n: b.n, xBytes: b.x.length, yBytes: b.y.length };
    });
    const header = {
      op: 'load',
      dataset: request.dataset,
      inputShape: request.inputShape,
      classes: request.classes,
      buffers,
    };
    return (await this.request<LoadReply>(header, payload)).header;
  }

  /** As load, but the worker reads the buffers from an engine data file (data-file.ts) itself. */
  async loadFile(dataset: DatasetName, path: string): Promise<LoadReply> {
    return (await this.request<LoadReply>({ op: 'load_file', dataset, path })).header;
  }

  /** Drops a dataset (or all of them) from the worker's memory. */
  async clear(dataset?: DatasetName): Promise<ClearReply> {
    return (await this.request<ClearReply>(dataset ? { op: 'clear', dataset } : { op: 'clear' })).header;
  }

  /** A fresh model from seed: written to modelOut, or returned as `model`. */
  async init(request: InitRequest): Promise<InitReply & { model: Buffer }> {
    const { header, payload } = await this.request<InitReply>({ op: 'init', ...request });
    return { ...header, model: payload };
  }

  /** One sub-epoch: checkpoint in (or seed), every loaded train buffer once, checkpoint out. */
  async train(request: TrainRequest): Promise<TrainReply> {
    return (await this.request<TrainReply>({ op: 'train', ...request })).header;
  }

  async validate(request: ValidateRequest): Promise<ValidateReply> {
    return (await this.request<ValidateReply>({ op: 'validate', ...request })).header;
  }

  /** As train, with the model passed in and out as bytes (null: a fresh model from seed). */
  async trainBytes(request: TrainBytesRequest, model: Uint8Array | null): Promise<TrainReply & { model: Buffer }> {
    const { header, payload } = await this.request<TrainReply>({ op: 'train_bytes', ...request }, model ?? undefined);
    return { ...header, model: payload };
  }

  async validateBytes(request: ValidateBytesRequest, model: Uint8Array): Promise<ValidateReply> {
    return (await this.request<ValidateReply>({ op: 'validate_bytes', ...request }, model)).header;
  }

  async setThreads(threads: number): Promise<number> {
    return (await this.request<{ threads: number }>({ op: 'set_threads', threads })).header.threads;
  }

  // -- lifecycle -----------------------------------------------------------------------------

  /** Asks the worker to exit after the queued requests; kills it after timeoutMs. Later requests
   * reject with WorkerClosedError. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closing || !this.alive) {
      this.closing = true;
      return this.exited;
    }
    this.closing = true;
    const exit = this.request({ op: 'exit' }).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([exit.then(() => this.exited), timeout]);
    await this.exited;
    if (timer) clearTimeout(timer);
    this.child.stdin.destroy();
  }

  /** Kills the process now (SIGKILL by default); pending requests reject with WorkerCrashedError. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Resolves when the process has exited and its pipes closed. */
  waitForExit(): Promise<void> {
    return this.exited;
  }
}
