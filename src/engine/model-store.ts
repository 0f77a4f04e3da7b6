// The shared model store (the paper's shared filesystem): one checkpoint file per config,
// weights and optimizer state, written by the engine workers atomically (temporary file +
// rename), so a reader sees the old checkpoint or the new one, never half of one.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class ModelStore {
  readonly dir: string;

  /** Creates the directory when missing. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  /** The checkpoint file of a config (by ModelConfig.id). */
  pathFor(config: number): string {
    if (!Number.isInteger(config) || config < 0) throw new Error(`bad config id ${config}`);
    return join(this.dir, `config-${config}.pt`);
  }

  exists(config: number): boolean {
    return this.stat(config) !== undefined;
  }

  /** Bytes of a config's checkpoint; 0 when there is none yet. */
  sizeOf(config: number): number {
    return this.stat(config)?.size ?? 0;
  }

  /** Configs that have a checkpoint. */
  configs(): number[] {
    const out: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = /^config-(\d+)\.pt$/.exec(name);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** Bytes of every checkpoint. */
  totalBytes(): number {
    return this.configs().reduce((sum, c) => sum + this.sizeOf(c), 0);
  }

  remove(config: number): void {
    rmSync(this.pathFor(config), { force: true });
  }

  /** Removes every checkpoint (and temporary files left by killed workers). */
  clear(): void {
    for (const name of readdirSync(this.dir)) {
      if (/^config-\d+\.pt(\.tmp-.*)?$/.test(name)) rmSync(join(this.dir, name), { force: true });
    }
  }

  private stat(config: number) {
    try {
      return statSync(this.pathFor(config));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
