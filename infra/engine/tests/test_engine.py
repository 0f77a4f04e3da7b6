"""Unit tests of the Python engine. Run: cd infra/engine && /usr/bin/python3 -m unittest -v
(test/engine/python.test.ts runs them under vitest). Everything is tiny: 2 shared cores."""

import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_DIR = os.path.dirname(HERE)
if ENGINE_DIR not in sys.path:
    sys.path.insert(0, ENGINE_DIR)

from bench_engine import frames  # noqa: E402
from bench_engine.models import build_model, parameter_count  # noqa: E402
from bench_engine.runtime import FLUSH_DENORMAL, HEAP_ALLOCATION, set_threads  # noqa: E402
from bench_engine.trainer import (  # noqa: E402
    Trainer,
    average_bytes,
    decode,
    decode_buffers,
)

set_threads(1)

MLP = {'id': 1, 'arch': 'mlp', 'batchSize': 32, 'learningRate': 0.01, 'l2': 1e-4, 'hidden': [16, 8], 'label': 't'}


def learnable(n, d, seed=0, classes=2):
    """Labels from a hidden linear teacher: a model can learn them."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype('<f4')
    teacher = np.random.default_rng(1234).standard_normal((d, classes))
    y = np.argmax(x @ teacher, axis=1).astype('<i4')
    return x.tobytes(), y.tobytes()


def images(n, shape, classes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([n] + list(shape)).astype('<f4')
    y = rng.integers(0, classes, n).astype('<i4')
    return x.tobytes(), y.tobytes()


def states_equal(a, b):
    """Model weights and optimizer state of two trainers are identical."""
    sa, sb = a.model.state_dict(), b.model.state_dict()
    if sa.keys() != sb.keys() or not all(torch.equal(sa[k], sb[k]) for k in sa):
        return False
    pa = list(a.model.parameters())
    pb = list(b.model.parameters())
    for p, q in zip(pa, pb):
        ea, eb = a.optimizer.state.get(p, {}), b.optimizer.state.get(q, {})
        if ea.keys() != eb.keys():
            return False
        for k in ea:
            if not torch.equal(torch.as_tensor(ea[k]), torch.as_tensor(eb[k])):
                return False
    return True


class DenormalTest(unittest.TestCase):
    @unittest.skipUnless(FLUSH_DENORMAL, 'this CPU cannot flush denormals')
    def test_importing_the_engine_flushes_denormals_to_zero(self):
        # 1e-38 is a normal float32; a hundredth of it is denormal, flushed to 0 here.
        x = torch.full((1024,), 1e-38, dtype=torch.float32)
        self.assertTrue(bool(((x * 0.01) == 0).all()))

    @unittest.skipUnless(FLUSH_DENORMAL, 'this CPU cannot flush denormals')
    def test_a_fresh_process_importing_the_trainer_flushes_them(self):
        code = ('import torch; import bench_engine.trainer; '
                'print(int(((torch.full((8,), 1e-38) * 0.01) == 0).sum()))')
        out = subprocess.run([sys.executable, '-c', code], cwd=ENGINE_DIR, capture_output=True,
                             text=True, check=True)
        self.assertEqual(out.stdout.strip(), '8')


class AllocationTest(unittest.TestCase):
    @unittest.skipUnless(HEAP_ALLOCATION, 'the C library took no mallopt')
    def test_large_tensors_reuse_heap_memory_instead_of_fresh_pages(self):
        import resource

        def faults():
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

        torch.ones(1 << 18)
        before = faults()
        for _ in range(200):
            torch.ones(1 << 18)  # 1 MiB written, then freed
        # Each mmapped afresh would be 256 new pages: 51,200 faults.
        self.assertLess(faults() - before, 200 * 256 // 10)


class DecodeTest(unittest.TestCase):
    def test_views_without_copy(self):
        x, y = learnable(10, 6)
        payload = bytearray(x + y)
        view = memoryview(payload)
        X, Y = decode(view[:len(x)], view[len(x):], 10, [6])
        self.assertEqual(list(X.shape), [10, 6])
        self.assertEqual(Y.dtype, torch.int64)
        self.assertEqual(X.data_ptr(), np.frombuffer(payload, dtype=np.uint8).ctypes.data)
        np.testing.assert_array_equal(X.numpy(), np.frombuffer(x, '<f4').reshape(10, 6))

    def test_immutable_bytes(self):
        x, y = learnable(4, 3)
        X, Y = decode(x, y, 4, [3])
        self.assertEqual(list(X.shape), [4, 3])
        self.assertEqual(Y.tolist(), np.frombuffer(y, '<i4').tolist())

    def test_image_shape_and_empty(self):
        x, y = images(3, [3, 4, 4], 5)
        X, _ = decode(x, y, 3, [3, 4, 4])
        self.assertEqual(list(X.shape), [3, 3, 4, 4])
        X, Y = decode(b'', b'', 0, [3, 4, 4])
        self.assertEqual(list(X.shape), [0, 3, 4, 4])

    def test_length_mismatch(self):
        x, y = learnable(4, 3)
        with self.assertRaisesRegex(ValueError, 'x holds'):
            decode(x, y, 5, [3])
        with self.assertRaisesRegex(ValueError, 'y holds'):
            decode(x, y[:-4], 4, [3])

    def test_decode_buffers(self):
        a = learnable(5, 3, seed=1)
        b = learnable(7, 3, seed=2)
        payload = bytearray(a[0] + a[1] + b[0] + b[1])
        specs = [{'n': 5, 'xBytes': len(a[0]), 'yBytes': len(a[1])},
                 {'n': 7, 'xBytes': len(b[0]), 'yBytes': len(b[1])}]
        out = decode_buffers(payload, specs, [3])
        self.assertEqual([int(X.shape[0]) for X, _ in out], [5, 7])
        np.testing.assert_array_equal(out[1][1].numpy(), np.frombuffer(b[1], '<i4'))
        with self.assertRaisesRegex(ValueError, 'describe'):
            decode_buffers(payload + b'xxxx', specs, [3])


# A small member of every CNN family: the shapes a tiny workload uses.
SMALL_CNNS = [
    {'arch': 'vgg16', 'width': 4},
    {'arch': 'resnet18', 'width': 4, 'blocks': [1, 1, 1, 1]},
    {'arch': 'resnet50', 'width': 4, 'blocks': [1, 1, 1, 1]},
    {'arch': 'mobilenetv2', 'width': 8, 'blocks': [1, 1, 1, 1, 1, 1, 1]},
]


class ModelsTest(unittest.TestCase):
    def test_criteo_mlp(self):
        model = build_model({'arch': 'mlp', 'hidden': [1000, 500]}, [7306], 2)
        self.assertEqual(parameter_count(model), 7306 * 1000 + 1000 + 1000 * 500 + 500 + 500 * 2 + 2)

    def test_cnn_output_shapes(self):
        for config in SMALL_CNNS:
            for side in (8, 16, 32, 64):
                model = build_model(config, [3, side, side], 7)
                model.eval()
                with torch.no_grad():
                    out = model(torch.zeros(2, 3, side, side))
                self.assertEqual(list(out.shape), [2, 7], (config, side))

    def test_unknown_arch_and_bad_shapes(self):
        with self.assertRaisesRegex(ValueError, 'unknown arch .*expected one of mlp, vgg16'):
            build_model({'arch': 'transformer'}, [4], 2)
        with self.assertRaisesRegex(ValueError, 'blocks must be 4 counts'):
            build_model({'arch': 'resnet50', 'blocks': [1, 1]}, [3, 16, 16], 2)
        with self.assertRaisesRegex(ValueError, 'at least 8x8'):
            build_model({'arch': 'vgg16', 'width': 4}, [3, 4, 4], 2)
        with self.assertRaisesRegex(ValueError, r'\[3, height, width\]'):
            build_model({'arch': 'resnet18'}, [546], 2)


class TrainerTest(unittest.TestCase):
    def test_deterministic_init(self):
        a = Trainer.create(MLP, [12], 2, seed=7)
        b = Trainer.create(MLP, [12], 2, seed=7)
        c = Trainer.create(MLP, [12], 2, seed=8)
        self.assertTrue(states_equal(a, b))
        self.assertFalse(states_equal(a, c))

    def test_global_rng_untouched(self):
        torch.manual_seed(99)
        expected = torch.rand(3)
        torch.manual_seed(99)
        Trainer.create(MLP, [12], 2, seed=7)
        self.assertTrue(torch.equal(torch.rand(3), expected))

    def test_learns(self):
        x, y = learnable(1024, 12)
        vx, vy = learnable(256, 12, seed=5)
        t = Trainer.create(MLP, [12], 2, seed=1)
        before = t.validate_buffer(vx, vy, 256)
        for _ in range(4):
            result = t.train_buffer(x, y, 1024)
        after = t.validate_buffer(vx, vy, 256)
        self.assertEqual(result['examples'], 1024)
        self.assertEqual([s['kind'] for s in result['spans']], ['data', 'train'])
        self.assertEqual([s['kind'] for s in after['spans']], ['valid'])
        self.assertLess(after['loss_sum'], before['loss_sum'] * 0.5)
        self.assertGreater(after['correct'], 0.85 * 256)

    def test_round_trip_bytes(self):
        x, y = learnable(256, 12)
        t = Trainer.create(MLP, [12], 2, seed=3)
        t.train_buffer(x, y, 256)
        blob = t.to_bytes()
        self.assertIsInstance(blob, bytes)
        u = Trainer.from_bytes(blob, MLP, [12], 2)
        self.assertTrue(states_equal(t, u))
        self.assertEqual(u.steps, t.steps)
        # Hopping equals sequential training: continue both and compare bit for bit.
        ra = t.train_buffer(x, y, 256)
        rb = u.train_buffer(x, y, 256)
        self.assertEqual(ra['loss_sum'], rb['loss_sum'])
        self.assertTrue(states_equal(t, u))

    def test_round_trip_reuse_and_file(self):
        x, y = learnable(256, 12)
        other = dict(MLP, learningRate=0.05, id=2)
        t = Trainer.create(MLP, [12], 2, seed=3)
        t.train_buffer(x, y, 256)
        recycled = Trainer.create(other, [12], 2, seed=4)
        recycled.train_buffer(x, y, 256)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'config-1.pt')
            size = t.save(path)
            self.assertEqual(size, os.path.getsize(path))
            self.assertEqual(os.listdir(d), ['config-1.pt'])
            u = Trainer.load(path, MLP, [12], 2, reuse=recycled)
        self.assertIs(u, recycled)
        self.assertEqual(u.optimizer.param_groups[0]['lr'], MLP['learningRate'])
        self.assertTrue(states_equal(t, u))
        t.train_buffer(x, y, 256)
        u.train_buffer(x, y, 256)
        self.assertTrue(states_equal(t, u))

    def test_checkpoint_mismatch(self):
        blob = Trainer.create(MLP, [12], 2, seed=3).to_bytes()
        with self.assertRaisesRegex(ValueError, 'checkpoint is for'):
            Trainer.from_bytes(blob, dict(MLP, hidden=[4]), [12], 2)

    def test_bad_checkpoints(self):
        blob = Trainer.create(MLP, [12], 2, seed=3).to_bytes()
        with self.assertRaisesRegex(ValueError, 'checkpoint'):
            Trainer.from_bytes(blob[:-10], MLP, [12], 2)
        with self.assertRaisesRegex(ValueError, 'not a bench_engine checkpoint'):
            Trainer.from_bytes(b'hello world, not a model', MLP, [12], 2)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'cut.pt')
            with open(path, 'wb') as f:
                f.write(blob[:len(blob) // 2])
            with self.assertRaisesRegex(ValueError, 'ends inside'):
                Trainer.load(path, MLP, [12], 2)

    def test_repeat(self):
        x, y = learnable(100, 12)
        t = Trainer.create(dict(MLP, repeat=3), [12], 2, seed=3)
        result = t.train_buffer(x, y, 100)
        self.assertEqual(result['steps'], 4 * 3)  # ceil(100 / 32) batches, 3 passes each
        self.assertEqual(result['examples'], 100)

    def test_cnns_train_a_step(self):
        x, y = images(8, [3, 16, 16], 4)
        for cnn in SMALL_CNNS:
            arch = cnn['arch']
            config = dict(cnn, id=3, batchSize=4, learningRate=1e-3, l2=1e-4)
            t = Trainer.create(config, [3, 16, 16], 4, seed=0)
            before = [p.detach().clone() for p in t.model.parameters()]
            result = t.train_buffer(x, y, 8)
            self.assertTrue(np.isfinite(result['loss_sum']), arch)
            self.assertEqual(result['steps'], 2)
            changed = [not torch.equal(a, b) for a, b in zip(before, t.model.parameters())]
            self.assertTrue(all(changed), arch)
            v = t.validate_buffer(x, y, 8)
            self.assertEqual(v['examples'], 8)
            u = Trainer.from_bytes(t.to_bytes(), config, [3, 16, 16], 4)
            self.assertTrue(states_equal(t, u), arch)
            # Batch norm statistics hop too: continuing after the hop equals continuing without.
            t.train_buffer(x, y, 8)
            u.train_buffer(x, y, 8)
            self.assertTrue(states_equal(t, u), arch)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, 'm.pt')
                t.save(path)
                w = Trainer.load(path, config, [3, 16, 16], 4, reuse=u)
            self.assertTrue(states_equal(t, w), arch)

    def test_average(self):
        x, y = learnable(128, 12)
        a = Trainer.create(MLP, [12], 2, seed=3)
        b = Trainer.from_bytes(a.to_bytes(), MLP, [12], 2)
        a.train_buffer(x[:64 * 12 * 4], y[:64 * 4], 64)
        b.train_buffer(x[64 * 12 * 4:], y[64 * 4:], 64)
        avg = Trainer.from_bytes(average_bytes([a.to_bytes(), b.to_bytes()], [1, 3]), MLP, [12], 2)
        for pa, pb, pc in zip(a.model.parameters(), b.model.parameters(), avg.model.parameters()):
            torch.testing.assert_close(pc, 0.25 * pa + 0.75 * pb)


class FramesAndRawLoopTest(unittest.TestCase):
    def test_frame_round_trip(self):
        f = io.BytesIO()
        frames.write_frame(f, {'op': 'x', 'n': 1}, [b'abc', b'de'])
        frames.write_frame(f, {'op': 'y'})
        f.seek(0)
        self.assertEqual(frames.read_frame(f), ({'op': 'x', 'n': 1}, bytearray(b'abcde')))
        self.assertEqual(frames.read_frame(f), ({'op': 'y'}, bytearray()))
        self.assertIsNone(frames.read_frame(f))

    def test_non_finite_numbers(self):
        f = io.BytesIO()
        frames.write_frame(f, {'loss': float('nan'), 'x': [float('inf'), -float('inf'), 1.5]})
        f.seek(0)
        header, _ = frames.read_frame(f)
        self.assertEqual(header, {'loss': 'NaN', 'x': ['Infinity', '-Infinity', 1.5]})

    def test_truncated_frame(self):
        f = io.BytesIO()
        frames.write_frame(f, {'op': 'x'}, b'abcdef')
        data = f.getvalue()[:-2]
        with self.assertRaises(frames.FrameError):
            frames.read_frame(io.BytesIO(data))

    def test_rawloop(self):
        x, y = learnable(300, 12)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'data.bin')
            header = {'format': 'bench-engine-data', 'version': 1, 'inputShape': [12], 'classes': 2,
                      'buffers': [{'n': 300, 'xBytes': len(x), 'yBytes': len(y)}]}
            with open(path, 'wb') as f:
                frames.write_frame(f, header, [x, y])
            env = dict(os.environ, PYTHONPATH=ENGINE_DIR)
            out = subprocess.run(
                [sys.executable, '-m', 'bench_engine.rawloop', '--data', path, '--config', json.dumps(MLP),
                 '--threads', '1', '--epochs', '2'],
                env=env, capture_output=True, text=True, check=True,
            )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual(result['examples'], 600)
        self.assertEqual(result['epochs'], 2)
        self.assertGreater(result['examplesPerSecond'], 0)


if __name__ == '__main__':
    unittest.main()
