"""The raw engine loop: the baseline every approach is measured against.

    python3 -m bench_engine.rawloop --data FILE --config JSON [--input-shape 546 | 3,16,16]
        [--classes N] [--threads N] [--epochs E] [--seed S] [--warmup-batches K]

One process, the data loaded into memory once, one config trained with the same Trainer code
the workers and PL/Python run (no model hops). Prints one JSON line:
{examples, trainSeconds, examplesPerSecond, epochs, epochSeconds, lossSum, threads, device}.

Data file (written by src/engine/data-file.ts): ONE frame (bench_engine.frames) whose header
is {format: 'bench-engine-data', version: 1, inputShape, classes, buffers: [{n, xBytes,
yBytes}]} and whose payload is x then y of each buffer, exactly the worker's 'load' message.
"""

import argparse
import json
import os
import sys
import time
from typing import List, Optional, Sequence, Tuple

from . import DATA_FORMAT, DATA_VERSION
from .frames import encode_header, read_frame


def read_data_file(path: str) -> Tuple[dict, bytearray]:
    """(header, payload bytearray) of an engine data file."""
    with open(path, 'rb', buffering=0) as f:
        frame = read_frame(f)
    if frame is None:
        raise ValueError('%s is empty' % path)
    header, payload = frame
    if header.get('format') != DATA_FORMAT:
        raise ValueError('%s is not a bench engine data file' % path)
    if header.get('version') != DATA_VERSION:
        raise ValueError('%s has data file version %r, this engine reads %r'
                         % (path, header.get('version'), DATA_VERSION))
    return header, payload


def _shape(values: Sequence[str]) -> List[int]:
    out = []
    for v in values:
        out.extend(int(p) for p in str(v).replace('x', ',').split(',') if p.strip())
    return out


def _config(text: str) -> dict:
    text = text.strip()
    if not text.startswith('{') and os.path.exists(text):
        with open(text) as f:
            text = f.read()
    return json.loads(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python3 -m bench_engine.rawloop')
    parser.add_argument('--data', required=True, help='engine data file')
    parser.add_argument('--config', required=True, help='ModelConfig JSON, or a file holding it')
    parser.add_argument('--input-shape', nargs='+', help='e.g. 546 or 3,16,16 (default: the file\'s)')
    parser.add_argument('--classes', type=int, help="default: the file's")
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    from .runtime import describe_device, set_threads, synchronize
    from .trainer import Trainer, decode_buffers

    threads = set_threads(args.threads)
    header, payload = read_data_file(args.data)
    input_shape = _shape(args.input_shape) if args.input_shape else [int(d) for d in header['inputShape']]
    classes = args.classes or int(header['classes'])
    buffers = decode_buffers(payload, header['buffers'], input_shape)
    config = _config(args.config)
    trainer = Trainer.create(config, input_shape, classes, args.seed)

    examples = 0
    epoch_seconds = []
    loss_sum = 0.0
    for _ in range(max(1, args.epochs)):
        synchronize()
        start = time.perf_counter()
        result = trainer.train_buffers(buffers)
        synchronize()
        epoch_seconds.append(time.perf_counter() - start)
        examples += result['examples']
        loss_sum = result['loss_sum']
    train_seconds = sum(epoch_seconds)
    out = {
        'examples': examples,
        'trainSeconds': train_seconds,
        'examplesPerSecond': examples / train_seconds if train_seconds > 0 else 0.0,
        'epochs': len(epoch_seconds),
        'epochSeconds': epoch_seconds,
        'lossSum': loss_sum,
        'threads': threads,
        'device': describe_device(),
    }
    sys.stdout.write(encode_header(out).decode('utf-8') + '\n')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
