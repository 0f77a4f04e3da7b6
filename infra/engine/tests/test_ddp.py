"""Unit tests of bench_engine.ddp (data-parallel training). Run with the other engine tests:
cd infra/engine && /usr/bin/python3 -m unittest discover -s tests. The two-rank test starts two
processes (each imports torch: a few seconds on 2 cores)."""

import multiprocessing
import os
import socket
import sys
import types
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_DIR = os.path.dirname(HERE)
if ENGINE_DIR not in sys.path:
    sys.path.insert(0, ENGINE_DIR)

from bench_engine.ddp import DdpState  # noqa: E402
from bench_engine.runtime import set_threads  # noqa: E402
from bench_engine.trainer import Trainer, decode  # noqa: E402

MLP = {'id': 3, 'arch': 'mlp', 'batchSize': 32, 'learningRate': 0.01, 'l2': 1e-4, 'hidden': [16, 8], 'label': 't'}
FEATURES = 12


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def shard(sizes, seed):
    """A dataset object as the worker keeps it: decoded (X, Y) buffers of a learnable task."""
    rng = np.random.default_rng(seed)
    teacher = np.random.default_rng(1234).standard_normal((FEATURES, 2))
    buffers = []
    for n in sizes:
        x = rng.standard_normal((n, FEATURES)).astype('<f4')
        y = np.argmax(x @ teacher, axis=1).astype('<i4')
        buffers.append(decode(bytearray(x.tobytes()), bytearray(y.tobytes()), n, [FEATURES]))
    return types.SimpleNamespace(input_shape=[FEATURES], classes=2, buffers=buffers)


def _rank_main(rank, world, port, sizes, seeds, epochs, queue):
    try:
        set_threads(1)
        state = DdpState(rank, world, port, backend='gloo', timeout_seconds=60)
        data = shard(sizes[rank], seeds[rank])
        results = [state.train(MLP, 7, data, epoch) for epoch in range(epochs)]
        out = {'rank': rank, 'results': results, 'checksum': state.checksum(MLP)['checksum'],
               'params': state.replica(MLP).trainer.flat.params.clone().numpy()}
        state.close()
        queue.put(out)
    except Exception as error:  # reported to the parent
        queue.put({'rank': rank, 'error': repr(error)})


def run_ranks(sizes, seeds, epochs):
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_rank_main, args=(r, len(sizes), port, sizes, seeds, epochs, queue)) for r in range(len(sizes))]
    for p in procs:
        p.start()
    outs = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [o['error'] for o in outs if 'error' in o]
    if errors:
        raise AssertionError('a rank failed: %s' % errors)
    return sorted(outs, key=lambda o: o['rank'])


class OneRankTest(unittest.TestCase):
    """world = 1: the all-reduce is the identity, so ddp training equals Trainer.train_buffers
    bit for bit, and the byte count is exact."""

    def test_equals_plain_training_and_counts_bytes(self):
        set_threads(1)
        data = shard([100, 64], seed=1)
        state = DdpState(0, 1, free_port(), backend='gloo', timeout_seconds=30)
        try:
            plain = Trainer.create(MLP, [FEATURES], 2, seed=7)
            for epoch in range(2):
                got = state.train(MLP, 7, data, epoch)
                want = plain.train_buffers(data.buffers)
                self.assertEqual(got['lossSum'], want['loss_sum'])
                self.assertEqual(got['examples'], 164)
                self.assertEqual(got['steps'], 4 + 2)
                self.assertEqual(got['batches'], 6)
                self.assertEqual(got['droppedExamples'], 0)
                grad_bytes = got['paramCount'] * 4
                self.assertEqual(got['gradientBytes'], got['steps'] * grad_bytes)
                # MIN of the batch count (8 bytes); the first epoch also checks the replicas (6 float64).
                self.assertEqual(got['controlBytes'], 8 + (48 if epoch == 0 else 0))
                self.assertEqual(got['allreduceBytes'], got['gradientBytes'] + got['controlBytes'])
                self.assertEqual(got['allreduceCalls'], got['steps'] + 1 + (1 if epoch == 0 else 0))
                self.assertGreaterEqual(got['allreduceSeconds'], 0)
                self.assertEqual([s['kind'] for s in got['spans']], (['engine-init'] if epoch == 0 else []) + ['train'])
            replica = state.replica(MLP).trainer
            self.assertTrue(torch.equal(replica.flat.params, plain.flat.params))
            self.assertTrue(torch.equal(replica.flat.exp_avg_sq, plain.flat.exp_avg_sq))
            valid = state.validate(MLP, shard([64], seed=9))
            self.assertEqual(valid['examples'], 64)
            with self.assertRaisesRegex(ValueError, 'not been trained'):
                state.replica(99)
        finally:
            state.close()


class TwoRanksTest(unittest.TestCase):
    def test_replicas_stay_identical_and_ranks_agree_on_batches(self):
        # Identical shards: the averaged gradient is each rank's own ((g + g) / 2 == g exactly),
        # so both replicas equal one process training on that shard.
        outs = run_ranks([[96, 64], [96, 64]], [1, 1], epochs=2)
        self.assertEqual(outs[0]['checksum'], outs[1]['checksum'])
        plain = Trainer.create(MLP, [FEATURES], 2, seed=7)
        data = shard([96, 64], seed=1)
        for _ in range(2):
            plain.train_buffers(data.buffers)
        np.testing.assert_array_equal(outs[0]['params'], plain.flat.params.numpy())

        # Unequal shards: both ranks take the smaller shard's mini-batch count.
        outs = run_ranks([[96, 64], [64]], [1, 2], epochs=1)
        self.assertEqual(outs[0]['checksum'], outs[1]['checksum'])
        r0, r1 = outs[0]['results'][0], outs[1]['results'][0]
        self.assertEqual((r0['localBatches'], r1['localBatches']), (5, 2))
        self.assertEqual((r0['batches'], r1['batches']), (2, 2))
        self.assertEqual(r0['droppedExamples'], 96 + 64 - 64)
        self.assertEqual(r0['gradientBytes'], r1['gradientBytes'])
        self.assertEqual(r0['gradientBytes'], 2 * r0['paramCount'] * 4)


if __name__ == '__main__':
    unittest.main()
