// The engine's binary frame (mirrors infra/engine/bench_engine/frames.py):
//   u32 LE header length | UTF-8 JSON header | u64 LE payload length | payload bytes
// Used on the pipes to engine workers and as the engine data file format.
import { constants as bufferConstants } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';

export interface Frame<H = Record<string, unknown>> {
  header: H;
  payload: Buffer;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const MAX_HEADER = 64 * 1024 * 1024;

const NON_FINITE = new Map<string, number>([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

/** JSON.parse for frame headers: the engine writes non-finite numbers (a diverged loss) as the
 * strings 'NaN', 'Infinity', '-Infinity'; they come back as numbers. */
export function parseHeader<H>(text: string): H {
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === 'string' && NON_FINITE.has(value) ? NON_FINITE.get(value) : value,
  ) as H;
}

export type Payload = Buffer | Uint8Array | readonly (Buffer | Uint8Array)[] | undefined;

function payloadChunks(payload: Payload): Uint8Array[] {
  if (payload === undefined) return [];
  if (payload instanceof Uint8Array) return payload.length ? [payload] : [];
  return payload.filter((p) => p.length > 0);
}

/** A frame as chunks to write in order: the prefix (lengths + header), then the payload chunks
 * as given (not copied). */
export function encodeFrame(header: object, payload?: Payload): Uint8Array[] {
  const chunks = payloadChunks(payload);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  let size = 0;
  for (const c of chunks) size += c.length;
  const prefix = Buffer.allocUnsafe(4 + json.length + 8);
  prefix.writeUInt32LE(json.length, 0);
  json.copy(prefix, 4);
  prefix.writeBigUInt64LE(BigInt(size), 4 + json.length);
  return [prefix, ...chunks];
}

/** A frame as one Buffer (copies; for small frames and tests). */
export function encodeFrameBuffer(header: object, payload?: Payload): Buffer {
  return Buffer.concat(encodeFrame(header, payload));
}

/** The byte length of an encoded frame. */
export function frameLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/**
 * Incremental frame parser: push chunks of any size (even 1 byte), get whole frames back.
 * A payload is copied once into its own Buffer, whatever the chunking.
 */
export class FrameParser<H = Record<string, unknown>> {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header: H | undefined;
  private payload: Buffer | undefined;
  private payloadFilled = 0;

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.pendingBytes + this.payloadFilled;
  }

  /** True between frames (nothing partial held). */
  get idle(): boolean {
    return this.header === undefined && this.pendingBytes === 0;
  }

  push(chunk: Buffer): Frame<H>[] {
    const frames: Frame<H>[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.header !== undefined && this.payload !== undefined) {
        const take = Math.min(data.length, this.payload.length - this.payloadFilled);
        data.copy(this.payload, this.payloadFilled, 0, take);
        this.payloadFilled += take;
        data = data.subarray(take);
        if (this.payloadFilled === this.payload.length) frames.push(this.finish());
        continue;
      }
      this.pending.push(data);
      this.pendingBytes += data.length;
      data = Buffer.alloc(0);
      const rest = this.parsePrefix();
      if (rest === undefined) break;
      if (this.payload === undefined || this.payload.length === 0) frames.push(this.finish());
      data = rest;
    }
    return frames;
  }

  /** Throws when the stream ended inside a frame. */
  end(): void {
    if (!this.idle) {
      throw new ProtocolError(`stream ended inside a frame (${this.buffered} bytes of it received)`);
    }
  }

  private finish(): Frame<H> {
    const frame = { header: this.header as H, payload: this.payload ?? Buffer.alloc(0) };
    this.header = undefined;
    this.payload = undefined;
    this.payloadFilled = 0;
    return frame;
  }

  /** Tries to read header length, header and payload length from the pending chunks. On
   * success sets header and payload and returns the bytes after the prefix. */
  private parsePrefix(): Buffer | undefined {
    if (this.pendingBytes < 4) return undefined;
    const joined = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [joined];
    const headerLength = joined.readUInt32LE(0);
    if (headerLength > MAX_HEADER) {
      throw new ProtocolError(`frame header of ${headerLength} bytes is too large (corrupt stream?)`);
    }
    const prefixLength = 4 + headerLength + 8;
    if (joined.length < prefixLength) return undefined;
    let header: H;
    try {
      header = parseHeader<H>(joined.toString('utf8', 4, 4 + headerLength));
    } catch (error) {
      throw new ProtocolError(`frame header is not JSON: ${(error as Error).message}`);
    }
    const size = joined.readBigUInt64LE(4 + headerLength);
    if (size > BigInt(Math.min(Number.MAX_SAFE_INTEGER, bufferConstants.MAX_LENGTH))) {
      throw new ProtocolError(`frame payload of ${size} bytes is too large`);
    }
    this.header = header;
    this.payload = Buffer.allocUnsafe(Number(size));
    this.payloadFilled = 0;
    this.pending = [];
    this.pendingBytes = 0;
    return joined.subarray(prefixLength);
  }
}

/** Reads frames from a stream until it ends; throws ProtocolError when it ends mid-frame. */
export async function* readFrames<H = Record<string, unknown>>(stream: Readable): AsyncGenerator<Frame<H>> {
  const parser = new FrameParser<H>();
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (const frame of parser.push(data)) yield frame;
  }
  parser.end();
}

/** Writes chunks to a stream, waiting for 'drain' when its buffer is full. Rejects when the
 * stream errors or closes before the write is flushed. */
export async function writeChunks(stream: Writable, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          stream.off('drain', onDrain);
          stream.off('error', onError);
          stream.off('close', onClose);
        };
        const onDrain = () => {
          cleanup();
          resolve();
        };
        const onError = (error: Error) => {
          cleanup();
          reject(error);
        };
        const onClose = () => {
          cleanup();
          reject(new ProtocolError('stream closed while writing'));
        };
        stream.on('drain', onDrain);
        stream.on('error', onError);
        stream.on('close', onClose);
      });
    }
  }
}

/** Encodes and writes one frame; resolves with the bytes written. */
export async function writeFrame(stream: Writable, header: object, payload?: Payload): Promise<number> {
  const chunks = encodeFrame(header, payload);
  await writeChunks(stream, chunks);
  return frameLength(chunks);
}
