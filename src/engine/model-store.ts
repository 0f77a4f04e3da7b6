// The shared model store (the paper's shared filesystem): checkpoint files (weights and optimizer
// state) written by the engine workers atomically (temporary file + rename). Every version of a
// config's model is its own file, `config-<id>.v<version>.pt`, where the version is the number of
// sub-epochs the model has trained (the checkpoint header's `units`). A unit reads version v and
// writes v + 1; v is removed only after the unit is recorded, so whenever the process dies the
// version the run's events describe is still on disk (docs/resume.md).
import { closeSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CHECKPOINT_FORMAT = 'bench-engine-checkpoint';
const FILE_NAME = /^config-(\d+)\.v(\d+)\.pt$/;
/** A JSON header larger than this is not a checkpoint header (they are a few kB). */
const MAX_HEADER_BYTES = 64 << 20;

/** What a checkpoint file's header says about the model in it. */
export interface CheckpointHeader {
  /** Sub-epochs the model has trained (0 when the file predates model versions). */
  units: number;
  /** Optimizer steps taken. */
  steps: number;
}

/** A checkpoint version as it lies in the store. */
export interface StoredVersion {
  config: number;
  version: number;
  path: string;
}

/**
 * The header of a checkpoint file (a bench_engine frame: u32 LE header length, JSON header, u64 LE
 * payload length, payload), after checking that the file holds the whole payload the header
 * announces. Throws an Error saying what is wrong with the file.
 */
export function readCheckpointHeader(path: string): CheckpointHeader {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const prefix = Buffer.alloc(4);
    if (size < 12 || readSync(fd, prefix, 0, 4, 0) !== 4)
      throw new Error(`${path} is not a checkpoint (${size} bytes)`);
    const headerBytes = prefix.readUInt32LE(0);
    if (headerBytes > MAX_HEADER_BYTES) throw new Error(`${path} is not a checkpoint (bad header length)`);
    if (4 + headerBytes + 8 > size) throw new Error(`${path} is torn: it ends inside its header (${size} bytes)`);
    const rest = Buffer.alloc(headerBytes + 8);
    if (readSync(fd, rest, 0, rest.length, 4) !== rest.length) throw new Error(`${path} ends inside its header`);
    let header: { format?: unknown; units?: unknown; steps?: unknown };
    try {
      header = JSON.parse(rest.subarray(0, headerBytes).toString('utf8')) as typeof header;
    } catch {
      throw new Error(`${path} is not a checkpoint (its header is not JSON)`);
    }
    if (header.format !== CHECKPOINT_FORMAT) throw new Error(`${path} is not a bench_engine checkpoint`);
    const payload = rest.readBigUInt64LE(headerBytes);
    const expected = BigInt(4 + headerBytes + 8) + payload;
    if (expected !== BigInt(size)) throw new Error(`${path} holds ${size} bytes, its header announces ${expected}`);
    return {
      units: typeof header.units === 'number' ? header.units : 0,
      steps: typeof header.steps === 'number' ? header.steps : 0,
    };
  } finally {
    closeSync(fd);
  }
}

export class ModelStore {
  readonly dir: string;

  /** Creates the directory when missing. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  /** The checkpoint file of a config's model (by ModelConfig.id) after `version` sub-epochs. */
  pathFor(config: number, version: number): string {
    if (!Number.isInteger(config) || config < 0) throw new Error(`bad config id ${config}`);
    if (!Number.isInteger(version) || version < 1)
      throw new Error(`bad model version ${version} (a stored model has trained at least one sub-epoch)`);
    return join(this.dir, `config-${config}.v${version}.pt`);
  }

  exists(config: number, version: number): boolean {
    return this.stat(this.pathFor(config, version)) !== undefined;
  }

  /** Every checkpoint file in the store, by config then version. */
  versions(): StoredVersion[] {
    const out: StoredVersion[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = FILE_NAME.exec(name);
      if (m) out.push({ config: Number(m[1]), version: Number(m[2]), path: join(this.dir, name) });
    }
    return out.sort((a, b) => a.config - b.config || a.version - b.version);
  }

  /** Configs that have a checkpoint. */
  configs(): number[] {
    return [...new Set(this.versions().map((v) => v.config))];
  }

  /** Bytes of every checkpoint. */
  totalBytes(): number {
    return this.versions().reduce((sum, v) => sum + (this.stat(v.path)?.size ?? 0), 0);
  }

  /**
   * Why version `version` of a config's model cannot be resumed from (missing, torn, or holding
   * another version), or undefined when it can.
   */
  problemWith(config: number, version: number): string | undefined {
    const path = this.pathFor(config, version);
    if (!this.stat(path)) return `its checkpoint after ${version} sub-epochs is missing (${path})`;
    let header: CheckpointHeader;
    try {
      header = readCheckpointHeader(path);
    } catch (error) {
      return (error as Error).message;
    }
    if (header.units !== version)
      return `${path} holds the model after ${header.units} sub-epochs, the events record ${version}`;
    return undefined;
  }

  remove(config: number, version: number): void {
    rmSync(this.pathFor(config, version), { force: true });
  }

  /** Removes every version of a config but `keep` (0 keeps none), and temporary files of killed workers. */
  keepOnly(config: number, keep: number): void {
    for (const v of this.versions()) if (v.config === config && v.version !== keep) rmSync(v.path, { force: true });
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(`config-${config}.`) && name.includes('.pt.tmp-'))
        rmSync(join(this.dir, name), { force: true });
    }
  }

  /** Removes every checkpoint (and temporary files left by killed workers). */
  clear(): void {
    for (const name of readdirSync(this.dir)) {
      if (FILE_NAME.test(name) || /^config-\d+\.v\d+\.pt\.tmp-/.test(name))
        rmSync(join(this.dir, name), { force: true });
    }
  }

  private stat(path: string) {
    try {
      return statSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
