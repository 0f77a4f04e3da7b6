// A relation fork as files: `<relfilenode>`, then `.1`, `.2`, ... each holding segment_size
// (1 GB) of blocks. Reads blocks across segment boundaries and counts what it read.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { DirectReadError } from './format.js';

export class RelationFork {
  private handles: (Promise<FileHandle> | undefined)[] = [];
  bytesRead = 0;

  private constructor(
    readonly files: string[],
    readonly blockSize: number,
    readonly segmentBlocks: number,
    readonly blocks: number,
  ) {}

  /** Find the segment files of the fork whose first file is `path` and count its blocks. */
  static async open(path: string, blockSize: number, segmentBlocks: number): Promise<RelationFork> {
    const files: string[] = [];
    let blocks = 0;
    for (let i = 0; ; i++) {
      const file = i === 0 ? path : `${path}.${i}`;
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (i > 0 && code === 'ENOENT') break;
        if (code === 'EACCES') {
          throw new DirectReadError(
            `cannot read ${file}: permission denied. The data directory must be group-readable ` +
              `(initdb --allow-group-access) and this process (uid ${process.getuid?.()}) a member of the server's ` +
              `group (e.g. postgres).`,
          );
        }
        throw new DirectReadError(`cannot stat ${file}: ${(error as Error).message}`);
      }
      if (size % blockSize !== 0)
        throw new DirectReadError(`${file} is ${size} bytes, not a whole number of ${blockSize}-byte blocks`);
      const fileBlocks = size / blockSize;
      if (fileBlocks > segmentBlocks)
        throw new DirectReadError(`${file} has ${fileBlocks} blocks, more than a segment (${segmentBlocks})`);
      files.push(file);
      blocks += fileBlocks;
      // A segment that is not full is the last one (later ones may exist, empty, after truncation).
      if (fileBlocks < segmentBlocks) break;
    }
    return new RelationFork(files, blockSize, segmentBlocks, blocks);
  }

  private handle(segment: number): Promise<FileHandle> {
    let h = this.handles[segment];
    if (!h) {
      // One open per segment even when reads start concurrently.
      h = open(this.files[segment], 'r').catch((error: Error) => {
        throw new DirectReadError(`cannot open ${this.files[segment]}: ${error.message}`);
      });
      this.handles[segment] = h;
    }
    return h;
  }

  /** Read `count` blocks from `first` into buf at `offset`; never past the fork's end. */
  async readBlocks(first: number, count: number, buf: Buffer, offset = 0): Promise<void> {
    if (first + count > this.blocks)
      throw new DirectReadError(`read past the end of the relation (${first + count} > ${this.blocks} blocks)`);
    let done = 0;
    while (done < count) {
      const block = first + done;
      const segment = Math.floor(block / this.segmentBlocks);
      const inSegment = block % this.segmentBlocks;
      const n = Math.min(count - done, this.segmentBlocks - inSegment);
      await this.readExactly(
        segment,
        inSegment * this.blockSize,
        n * this.blockSize,
        buf,
        offset + done * this.blockSize,
      );
      done += n;
    }
  }

  /** Read `length` bytes at absolute fork offset `position` into buf at `offset`. */
  async readAt(position: number, length: number, buf: Buffer, offset = 0): Promise<void> {
    const segmentBytes = this.segmentBlocks * this.blockSize;
    let done = 0;
    while (done < length) {
      const pos = position + done;
      const segment = Math.floor(pos / segmentBytes);
      const inSegment = pos % segmentBytes;
      const n = Math.min(length - done, segmentBytes - inSegment);
      await this.readExactly(segment, inSegment, n, buf, offset + done);
      done += n;
    }
  }

  private async readExactly(
    segment: number,
    position: number,
    length: number,
    buf: Buffer,
    offset: number,
  ): Promise<void> {
    const h = await this.handle(segment);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await h.read(buf, offset + done, length - done, position + done);
      if (bytesRead === 0) throw new DirectReadError(`${this.files[segment]} ended early at byte ${position + done}`);
      done += bytesRead;
    }
    this.bytesRead += length;
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h?.then((f) => f.close()).catch(() => undefined)));
    this.handles = [];
  }
}
