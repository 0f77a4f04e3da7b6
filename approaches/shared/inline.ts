// The result of the *_inline training aggregate: u32 LE JSON length, the result JSON, the model.
import { parseHeader } from '../../src/engine/protocol.js';
import type { TrainResult } from '../../src/engine/indb.js';

export function parseInlineResult(framed: Buffer): { result: TrainResult; model: Buffer } {
  const length = framed.readUInt32LE(0);
  const result = parseHeader<TrainResult>(framed.subarray(4, 4 + length).toString('utf8'));
  return { result, model: framed.subarray(4 + length) };
}
