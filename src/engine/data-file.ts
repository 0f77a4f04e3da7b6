// The engine data file: ONE frame whose header is
//   {format: 'bench-engine-data', version: 1, inputShape, classes, buffers: [{n, xBytes, yBytes}]}
// and whose payload is x then y of each buffer, exactly a worker 'load' message. Read by
// `python3 -m bench_engine.rawloop --data FILE` (infra/engine/bench_engine/rawloop.py).
import { open, readFile } from 'node:fs/promises';
import { encodeFrame, FrameParser, ProtocolError } from './protocol.js';
import type { PackedBuffer } from './messages.js';

export const DATA_FORMAT = 'bench-engine-data';
export const DATA_VERSION = 1;

export interface EngineData {
  inputShape: number[];
  classes: number;
  buffers: readonly PackedBuffer[];
}

interface DataHeader {
  format: string;
  version: number;
  inputShape: number[];
  classes: number;
  buffers: { n: number; xBytes: number; yBytes: number }[];
}

/** Writes an engine data file; resolves with its size in bytes. */
export async function writeEngineDataFile(path: string, data: EngineData): Promise<number> {
  const header: DataHeader = {
    format: DATA_FORMAT,
    version: DATA_VERSION,
    inputShape: data.inputShape,
    classes: data.classes,
    buffers: data.buffers.map((b) => ({ n: b.n, xBytes: b.x.length, yBytes: b.y.length })),
  };
  const chunks = encodeFrame(
    header,
    data.buffers.flatMap((b) => [b.x, b.y]),
  );
  const file = await open(path, 'w');
  let size = 0;
  try {
    for (const chunk of chunks) {
      await file.write(chunk);
      size += chunk.length;
    }
  } finally {
    await file.close();
  }
  return size;
}

/** Reads an engine data file back (buffers are views of one Buffer). */
export async function readEngineDataFile(path: string): Promise<EngineData> {
  const parser = new FrameParser<DataHeader>();
  const frames = parser.push(await readFile(path));
  parser.end();
  const frame = frames[0];
  if (!frame || frame.header.format !== DATA_FORMAT) throw new ProtocolError(`${path} is not an engine data file`);
  if (frame.header.version !== DATA_VERSION)
    throw new ProtocolError(`${path}: data file version ${frame.header.version}`);
  let offset = 0;
  const buffers = frame.header.buffers.map((b) => {
    const x = frame.payload.subarray(offset, offset + b.xBytes);
    const y = frame.payload.subarray(offset + b.xBytes, offset + b.xBytes + b.yBytes);
    offset += b.xBytes + b.yBytes;
    return { n: b.n, x, y };
  });
  return { inputShape: frame.header.inputShape, classes: frame.header.classes, buffers };
}
