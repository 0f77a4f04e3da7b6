// The result of the *_inline training aggregate: u32 LE JSON length, the result JSON, the model.
import type { TrainResult } from '../../src/engine/indb.js';

export function parseInlineResult(framed: Buffer): { result: TrainResult; model: Buffer } {
  const length = framed.readUInt32LE(0);
  const result = JSON.parse(framed.subarray(4, 4 + length).toString('utf8')) as TrainResult;
  return { result, model: framed.subarray(4 + length) };
}
