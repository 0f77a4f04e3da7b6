// The COPY data-access path: stream a segment's packed buffers out of its instance with
// COPY ... TO STDOUT (FORMAT binary) and write them as an Arrow IPC file (the exported copy of the
// `export` approach, whose size is its storage blowup).
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Binary, Int32, Table, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { to as copyTo } from 'pg-copy-streams';
import { connect, ident } from '../db/connect.js';
import type { Instance } from '../db/topology.js';

import type { PackedBuffer } from '../core/packed.js';

export type { PackedBuffer };

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Parser of PostgreSQL's binary COPY format for rows of (int4 n, bytea x, bytea y). Fed chunk by
 * chunk; keeps only the unparsed tail between chunks.
 */
export class PackedCopyParser {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private ended = false;
  readonly buffers: PackedBuffer[] = [];

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    const data = this.pending;
    if (!this.headerDone) {
      if (data.length < 19) return;
      if (!data.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream (bad signature)');
      const extension = data.readUInt32BE(15);
      offset = 19 + extension;
      this.headerDone = true;
    }
    for (;;) {
      if (data.length - offset < 2) break;
      const fields = data.readInt16BE(offset);
      if (fields === -1) {
        this.ended = true;
        offset += 2;
        break;
      }
      if (fields !== 3) throw new Error(`expected 3 columns (n, x, y) in the COPY stream, got ${fields}`);
      let cursor = offset + 2;
      const values: Buffer[] = [];
      let complete = true;
      for (let f = 0; f < 3; f++) {
        if (data.length - cursor < 4) {
          complete = false;
          break;
        }
        const length = data.readInt32BE(cursor);
        if (length < 0) throw new Error('a packed buffer has a NULL column');
        if (data.length - cursor - 4 < length) {
          complete = false;
          break;
        }
        values.push(data.subarray(cursor + 4, cursor + 4 + length));
        cursor += 4 + length;
      }
      if (!complete) break;
      this.buffers.push({ n: values[0].readInt32BE(0), x: values[1], y: values[2] });
      offset = cursor;
    }
    // Copy the tail so the (possibly large) chunk it came from can be freed.
    this.pending = offset < data.length ? Buffer.from(data.subarray(offset)) : Buffer.alloc(0);
  }

  finish(): PackedBuffer[] {
    if (!this.ended) throw new Error('the COPY stream ended before its trailer');
    return this.buffers;
  }
}

/** COPY one segment's rows of a packed table (its local table on that instance) in buffer order. */
export async function copyPackedBuffers(
  instance: Instance,
  table: string,
  onBytes?: (bytes: number) => void,
): Promise<PackedBuffer[]> {
  const client = await connect(instance, 'bench-export');
  try {
    const stream = client.query(
      copyTo(`COPY (SELECT n, x, y FROM ${ident(table)} ORDER BY buffer_id) TO STDOUT (FORMAT binary)`),
    );
    const parser = new PackedCopyParser();
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      onBytes?.(buffer.length);
      parser.push(buffer);
    }
    return parser.finish();
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function writeArrowFile(path: string, buffers: PackedBuffer[]): Promise<number> {
  const table = new Table({
    n: vectorFromArray(
      buffers.map((b) => b.n),
      new Int32(),
    ),
    x: vectorFromArray(
      buffers.map((b) => b.x),
      new Binary(),
    ),
    y: vectorFromArray(
      buffers.map((b) => b.y),
      new Binary(),
    ),
  });
  await writeFile(path, tableToIPC(table, 'file'));
  return (await stat(path)).size;
}

export async function readArrowFile(path: string): Promise<PackedBuffer[]> {
  const table = tableFromIPC(await readFile(path));
  const n = table.getChild('n');
  const x = table.getChild('x');
  const y = table.getChild('y');
  if (!n || !x || !y) throw new Error(`${path} is not an exported packed table (columns n, x, y expected)`);
  const buffers: PackedBuffer[] = [];
  for (let i = 0; i < table.numRows; i++)
    buffers.push({ n: n.get(i) as number, x: x.get(i) as Uint8Array, y: y.get(i) as Uint8Array });
  return buffers;
}
