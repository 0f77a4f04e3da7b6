"""Unit tests of bench_engine.ddp (data-parallel training), in both all-reduce modes: 'ddp'
(torch's DistributedDataParallel with the counting hook) and 'flat'. Run with the other engine
tests: cd infra/engine && /usr/bin/python3 -m unittest discover -s tests. The two-rank tests
start two processes (each imports torch: a few seconds on 2 cores)."""

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

from bench_engine.ddp import DdpState, union_seconds  # noqa: E402
from bench_engine.runtime import set_threads  # noqa: E402
from bench_engine.trainer import Trainer, decode  # noqa: E402

MLP = {'id': 3, 'arch': 'mlp', 'batchSize': 32, 'learningRate': 0.01, 'l2': 1e-4, 'hidden': [16, 8], 'label': 't'}
# 12 * 700 + 700 + 700 * 700 + 700 + 700 * 2 + 2 = 501202 parameters, 2 MB of gradient: more than
# DDP's first bucket (1 MB), so every step all-reduces at least two buckets.
WIDE = dict(MLP, id=4, hidden=[700, 700], learningRate=1e-3)
FEATURES = 12
MODES = ('ddp', 'flat')


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def shard(sizes, seed, shape=(FEATURES,), classes=2):
    """A dataset object as the worker keeps it: decoded (X, Y) buffers of a learnable task."""
    rng = np.random.default_rng(seed)
    features = int(np.prod(shape))
    teacher = np.random.default_rng(1234).standard_normal((features, classes))
    buffers = []
    for n in sizes:
        x = rng.standard_normal((n, features)).astype('<f4')
        y = np.argmax(x @ teacher, axis=1).astype('<i4')
        buffers.append(decode(bytearray(x.tobytes()), bytearray(y.tobytes()), n, list(shape)))
    return types.SimpleNamespace(input_shape=list(shape), classes=classes, buffers=buffers)


# A ResNet with batch norm on 3 x 8 x 8 images.
CNN = {'id': 5, 'arch': 'resnet18', 'width': 4, 'blocks': [1, 1, 1, 1], 'batchSize': 16,
       'learningRate': 1e-3, 'l2': 1e-4, 'label': 'cnn'}
CNN_SHAPE = (3, 8, 8)


def _rank_main(rank, world, port, allreduce, jobs, epochs, queue):
    """jobs: [(config, sizes per rank, seed per rank, input shape)]."""
    try:
        set_threads(1)
        state = DdpState(rank, world, port, backend='gloo', timeout_seconds=60, allreduce=allreduce)
        out = {'rank': rank, 'jobs': []}
        for config, sizes, seeds, shape in jobs:
            data = shard(sizes[rank], seeds[rank], shape)
            results = [state.train(config, 7, data, epoch) for epoch in range(epochs)]
            out['jobs'].append({'results': results, 'checksum': state.checksum(config)['checksum'],
                                'params': state.replica(config).trainer.flat.params.clone().numpy()})
        state.close()
        queue.put(out)
    except Exception as error:  # reported to the parent
        queue.put({'rank': rank, 'error': repr(error)})


def run_ranks(allreduce, jobs, epochs):
    world = len(jobs[0][1])
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_rank_main, args=(r, world, port, allreduce, jobs, epochs, queue))
             for r in range(world)]
    for p in procs:
        p.start()
    outs = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [o['error'] for o in outs if 'error' in o]
    if errors:
        raise AssertionError('a rank failed: %s' % errors)
    return sorted(outs, key=lambda o: o['rank'])


class OneRankTest(unittest.TestCase):
    """world = 1: the all-reduce is the identity, so data-parallel training equals
    Trainer.train_buffers bit for bit in both modes, and the byte counts are exact."""

    def test_equals_plain_training_and_counts_bytes(self):
        set_threads(1)
        data = shard([100, 64], seed=1)
        for allreduce in MODES:
            state = DdpState(0, 1, free_port(), backend='gloo', timeout_seconds=30, allreduce=allreduce)
            try:
                plain = Trainer.create(MLP, [FEATURES], 2, seed=7)
                for epoch in range(2):
                    got = state.train(MLP, 7, data, epoch)
                    want = plain.train_buffers(data.buffers)
                    self.assertEqual(got['allreduce'], allreduce)
                    self.assertEqual(got['lossSum'], want['loss_sum'], allreduce)
                    self.assertEqual(got['examples'], 164)
                    self.assertEqual(got['steps'], 4 + 2)
                    self.assertEqual(got['batches'], 6)
                    self.assertEqual(got['droppedExamples'], 0)
                    params = got['paramCount']
                    self.assertEqual(got['gradientBytes'], got['steps'] * params * 4, allreduce)
                    self.assertEqual(got['gradientCalls'], got['steps'])  # one bucket: a small model
                    # MIN of the batch count (8 bytes); the first epoch also checks the replicas (6 float64).
                    self.assertEqual(got['controlBytes'], 8 + (48 if epoch == 0 else 0))
                    self.assertEqual(got['allreduceBytes'], got['gradientBytes'] + got['controlBytes'])
                    # DDP's constructor broadcasts the parameters once (the MLP has no buffers).
                    self.assertEqual(got['broadcastBytes'], params * 4 if allreduce == 'ddp' and epoch == 0 else 0)
                    self.assertEqual(got['allreduceCalls'], got['steps'] + 1 + (1 if epoch == 0 else 0))
                    self.assertGreaterEqual(got['allreduceSeconds'], 0)
                    kinds = [s['kind'] for s in got['spans']]
                    self.assertEqual(kinds, (['engine-init'] if epoch == 0 else []) + ['train'])
                replica = state.replica(MLP).trainer
                self.assertTrue(torch.equal(replica.flat.params, plain.flat.params), allreduce)
                self.assertTrue(torch.equal(replica.flat.exp_avg_sq, plain.flat.exp_avg_sq), allreduce)
                valid = state.validate(MLP, shard([64], seed=9))
                self.assertEqual(valid['examples'], 64)
                with self.assertRaisesRegex(ValueError, 'not been trained'):
                    state.replica(99)
            finally:
                state.close()

    def test_bad_mode(self):
        with self.assertRaisesRegex(ValueError, "allreduce must be one of ddp, flat, not 'ring'"):
            DdpState(0, 1, free_port(), backend='gloo', allreduce='ring')

    def test_union_seconds(self):
        self.assertEqual(union_seconds([]), 0.0)
        self.assertEqual(union_seconds([(3.0, 4.0), (0.0, 2.0), (1.0, 2.5)]), 3.5)


class TwoRanksTest(unittest.TestCase):
    def test_identical_shards_train_as_one_process_in_both_modes(self):
        # The averaged gradient is each rank's own ((g + g) / 2 == g, and g / 2 + g / 2 == g, exactly),
        # so both replicas equal one process training on that shard.
        plain = Trainer.create(MLP, [FEATURES], 2, seed=7)
        data = shard([96, 64], seed=1)
        for _ in range(2):
            plain.train_buffers(data.buffers)
        for allreduce in MODES:
            outs = run_ranks(allreduce, [(MLP, [[96, 64], [96, 64]], [1, 1], (FEATURES,))], epochs=2)
            self.assertEqual(outs[0]['jobs'][0]['checksum'], outs[1]['jobs'][0]['checksum'], allreduce)
            np.testing.assert_array_equal(outs[0]['jobs'][0]['params'], plain.flat.params.numpy())

    def test_ddp_buckets_batch_norm_and_uneven_shards(self):
        """DDP mode, two ranks with different shards: a model of several buckets, a CNN with
        batch norm, and shards of different sizes. Replicas stay identical; the hook counts
        exactly steps x parameters x 4 bytes per rank."""
        jobs = [
            (MLP, [[96, 64], [64]], [1, 2], (FEATURES,)),
            (WIDE, [[64, 64], [64, 64]], [3, 4], (FEATURES,)),
            (CNN, [[48], [48]], [5, 6], CNN_SHAPE),
        ]
        outs = run_ranks('ddp', jobs, epochs=2)
        for index, (config, _, _, _) in enumerate(jobs):
            a, b = outs[0]['jobs'][index], outs[1]['jobs'][index]
            self.assertEqual(a['checksum'], b['checksum'], config['id'])
            for r0, r1 in zip(a['results'], b['results']):
                self.assertEqual(r0['steps'], r1['steps'])
                for r in (r0, r1):
                    self.assertEqual(r['gradientBytes'], r['steps'] * r['paramCount'] * 4, config['id'])
        # Uneven shards: both ranks take the smaller shard's mini-batch count.
        r0, r1 = outs[0]['jobs'][0]['results'][0], outs[1]['jobs'][0]['results'][0]
        self.assertEqual((r0['localBatches'], r1['localBatches']), (5, 2))
        self.assertEqual((r0['batches'], r1['batches']), (2, 2))
        self.assertEqual(r0['droppedExamples'], 96 + 64 - 64)
        # The wide MLP: more than one bucket per step.
        wide = outs[0]['jobs'][1]['results'][1]
        self.assertEqual(wide['paramCount'], 501202)
        self.assertGreaterEqual(wide['gradientCalls'], 2 * wide['steps'])
        self.assertGreater(wide['allreduceSeconds'], 0)
        # The CNN's batch norm statistics are averaged once per epoch (on top of the 8-byte agreement).
        cnn = outs[0]['jobs'][2]['results'][1]
        self.assertGreater(cnn['controlBytes'], 8)


if __name__ == '__main__':
    unittest.main()
