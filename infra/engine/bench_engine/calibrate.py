"""The raw engine loop as a short calibration: how fast THIS machine trains the run's configs.

    python3 -m bench_engine.calibrate --spec JSON

spec: {inputShape, classes, configs: [ModelConfig], rowsPerBuffer, seconds, seed, threads}.

Every config is trained with the same Trainer code as the approaches (no database, no hops, no
scheduler) on one synthetic buffer of rowsPerBuffer examples of the workload's shape, for about
seconds / len(configs) of train-loop time (at least one pass, after one untimed warm-up batch).
Dense training costs the same whatever the values, so random data measures what the real data
would. Prints one JSON line: {configs: [{id, examples, trainSeconds, examplesPerSecond}],
examplesPerSecond, threads, device}; examplesPerSecond is the harmonic mean over configs, the
rate of a run in which every config trains the same number of examples.
"""

import argparse
import json
import sys
import time
from typing import List, Optional, Sequence

from .frames import encode_header


def _harmonic_mean(rates: Sequence[float]) -> float:
    if not rates or any(r <= 0 for r in rates):
        return 0.0
    return len(rates) / sum(1.0 / r for r in rates)


def calibrate(spec: dict) -> dict:
    import torch

    from .runtime import describe_device, device, set_threads, synchronize
    from .trainer import Trainer

    threads = set_threads(int(spec.get('threads', 1)))
    shape: List[int] = [int(d) for d in spec['inputShape']]
    classes = int(spec['classes'])
    rows = max(1, int(spec['rowsPerBuffer']))
    configs: List[dict] = list(spec['configs'])
    if not configs:
        raise ValueError('spec.configs is empty: nothing to calibrate')
    budget = max(0.0, float(spec['seconds'])) / len(configs)
    seed = int(spec.get('seed', 0))
    generator = torch.Generator().manual_seed(seed)
    dev = device()

    out = []
    for config in configs:
        X = torch.randn([rows] + shape, generator=generator).to(dev)
        Y = torch.randint(0, classes, (rows,), generator=generator).to(dev)
        trainer = Trainer.create(config, shape, classes, seed + int(config.get('id', 0)))
        warm = max(1, int(config.get('batchSize', rows)))
        trainer.train_buffers([(X[:warm], Y[:warm])])
        examples = 0
        seconds = 0.0
        passes = 0
        while passes < 1 or seconds < budget:
            synchronize()
            start = time.perf_counter()
            result = trainer.train_buffers([(X, Y)])
            synchronize()
            seconds += time.perf_counter() - start
            examples += int(result['examples'])
            passes += 1
        out.append({
            'id': config.get('id', 0),
            'examples': examples,
            'trainSeconds': seconds,
            'examplesPerSecond': examples / seconds if seconds > 0 else 0.0,
        })
    return {
        'configs': out,
        'examplesPerSecond': _harmonic_mean([c['examplesPerSecond'] for c in out]),
        'threads': threads,
        'device': describe_device(),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python3 -m bench_engine.calibrate')
    parser.add_argument('--spec', required=True, help='the calibration spec as JSON')
    args = parser.parse_args(argv)
    result = calibrate(json.loads(args.spec))
    sys.stdout.write(encode_header(result).decode('utf-8') + '\n')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
