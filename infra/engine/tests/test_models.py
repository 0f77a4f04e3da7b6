"""The model zoo and the regularisers. Run with the other engine tests:
cd infra/engine && /usr/bin/python3 -m unittest discover -s tests."""

import copy
import os
import sys
import unittest

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_DIR = os.path.dirname(HERE)
if ENGINE_DIR not in sys.path:
    sys.path.insert(0, ENGINE_DIR)

from bench_engine.models import (  # noqa: E402
    ZOO,
    build_model,
    kernel_parameters,
    l2_penalty,
    parameter_count,
    parameter_count_of,
    published_model,
)
from bench_engine.runtime import set_threads  # noqa: E402
from bench_engine.trainer import Trainer, make_optimizer  # noqa: E402

set_threads(1)

# The published parameter counts (millions, as the papers and torchvision's model pages round
# them) at 1000 classes.
PUBLISHED_MILLIONS = {
    'vgg16': 138.4,
    'resnet18': 11.7,
    'resnet34': 21.8,
    'resnet50': 25.6,
    'resnet152': 60.2,
    'mobilenetv2': 3.5,
}
WEIGHTS_ENUMS = {
    'vgg16': 'VGG16_Weights',
    'resnet18': 'ResNet18_Weights',
    'resnet34': 'ResNet34_Weights',
    'resnet50': 'ResNet50_Weights',
    'resnet152': 'ResNet152_Weights',
    'mobilenetv2': 'MobileNet_V2_Weights',
}


def shapes(model):
    return [(name, tuple(t.shape)) for name, t in model.state_dict().items()]


class ZooTest(unittest.TestCase):
    def test_paper_scale_members_are_torchvisions_models_with_the_published_counts(self):
        """Checked at 224x224 (the published models' input) and 1000 classes; the structure is
        compared with torchvision's builder, which has no input size (every member pools
        adaptively before its classifier, so the count is the same at the paper's 112x112)."""
        import torchvision.models as tv

        for arch, millions in PUBLISHED_MILLIONS.items():
            model = build_model({'arch': arch}, [3, 224, 224], 1000)
            count = parameter_count(model)
            self.assertEqual(round(count / 1e6, 1), millions, arch)
            # torchvision's model card, read from the weights' metadata (nothing is downloaded).
            card = getattr(tv, WEIGHTS_ENUMS[arch]).IMAGENET1K_V1.meta['num_params']
            self.assertEqual(count, card, arch)
            reference = published_model(arch, 1000)
            self.assertEqual(type(model), type(reference), arch)
            self.assertEqual(repr(model), repr(reference), arch)
            self.assertEqual(shapes(model), shapes(reference), arch)
            del model, reference

    def test_parameter_count_of_caches_by_architecture(self):
        config = {'arch': 'resnet18', 'width': 8, 'blocks': [1, 1, 1, 1]}
        count = parameter_count_of(config, [3, 16, 16], 4)
        self.assertEqual(count, parameter_count(build_model(config, [3, 16, 16], 4)))
        self.assertEqual(parameter_count_of(dict(config, learningRate=0.5), [3, 16, 16], 4), count)
        # Bigger at more classes, at more width, at more blocks.
        self.assertGreater(parameter_count_of(config, [3, 16, 16], 10), count)
        self.assertGreater(parameter_count_of(dict(config, width=16), [3, 16, 16], 4), count)
        self.assertGreater(parameter_count_of(dict(config, blocks=[2, 2, 2, 2]), [3, 16, 16], 4), count)

    def test_small_images_keep_a_feature_map(self):
        """Every member classifies 16x16 images with the family's stages all present."""
        x = torch.zeros(1, 3, 16, 16)
        for arch in ZOO:
            model = build_model({'arch': arch, 'width': 8}, [3, 16, 16], 5).eval()
            with torch.no_grad():
                self.assertEqual(list(model(x).shape), [1, 5], arch)
        resnet = build_model({'arch': 'resnet50', 'width': 8, 'blocks': [1, 1, 1, 1]}, [3, 16, 16], 5)
        self.assertEqual(resnet.conv1.stride, (1, 1))
        self.assertEqual(resnet.layer4[0].conv3.out_channels, 8 * 8 * 4)
        vgg = build_model({'arch': 'vgg16', 'width': 8}, [3, 16, 16], 5)
        self.assertEqual(sum(isinstance(m, torch.nn.MaxPool2d) for m in vgg.features), 3)
        self.assertEqual(sum(isinstance(m, torch.nn.Conv2d) for m in vgg.features), 13)


def tiny_resnet():
    return {'id': 1, 'arch': 'resnet18', 'width': 4, 'blocks': [1, 1, 1, 1], 'batchSize': 8,
            'learningRate': 1e-2, 'l2': 0.05}


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, 3, 8, 8, generator=g), torch.randint(0, 3, (8,), generator=g)


class RegularizerTest(unittest.TestCase):
    def test_penalty_is_l2_times_the_squared_kernel_weights(self):
        model = build_model(tiny_resnet(), [3, 8, 8], 3)
        kernels = kernel_parameters(model)
        names = {id(p): n for n, p in model.named_parameters()}
        kernel_names = sorted(names[id(p)] for p in kernels)
        # Convolution and linear weights, nothing else: no bias, no batch norm weight or bias.
        self.assertIn('conv1.weight', kernel_names)
        self.assertIn('fc.weight', kernel_names)
        self.assertNotIn('fc.bias', kernel_names)
        self.assertFalse([n for n in kernel_names if 'bn' in n or n.endswith('.bias')])
        # Here the kernels are exactly the parameters of more than one dimension.
        self.assertEqual(kernel_names, sorted(n for n, p in model.named_parameters() if p.dim() > 1))
        expected = sum(float((p.detach().double() ** 2).sum()) for p in kernels)
        self.assertAlmostEqual(float(l2_penalty(model, 0.05)), 0.05 * expected, places=4)

    def _descend(self, model, config, penalised, steps):
        """Adam without weight decay on cross-entropy + l2 * sum(w^2) over `penalised`."""
        optimizer = torch.optim.Adam(model.parameters(), lr=config['learningRate'])
        for step in range(steps):
            x, y = batch(step)
            optimizer.zero_grad()
            penalty = config['l2'] * torch.stack([(w ** 2).sum() for w in penalised(model)]).sum()
            (F.cross_entropy(model(x), y) + penalty).backward()
            optimizer.step()

    def test_kernel_l2_trains_as_the_penalised_loss_and_leaves_biases_and_batch_norm_alone(self):
        """Three steps of the default regulariser equal three steps of Adam descending
        cross-entropy + l2 * sum(w^2) over the kernels, and differ from descending a penalty on
        every parameter in the biases and batch norm parameters (and only there at first)."""
        config = tiny_resnet()
        trainer = Trainer.create(config, [3, 8, 8], 3, seed=5)
        kernels_only = copy.deepcopy(trainer.model)
        everything = copy.deepcopy(trainer.model)
        for step in range(3):
            trainer.train_tensors(*batch(step))
        self._descend(kernels_only, config, kernel_parameters, 3)
        self._descend(everything, config, lambda m: list(m.parameters()), 3)
        kernels = {name for name, p in trainer.model.named_parameters()
                   if any(p is k for k in kernel_parameters(trainer.model))}
        others = [name for name, _ in trainer.model.named_parameters() if name not in kernels]
        self.assertIn('bn1.weight', others)
        self.assertIn('fc.bias', others)
        got = dict(trainer.model.named_parameters())
        want = dict(kernels_only.named_parameters())
        penalised_all = dict(everything.named_parameters())
        for name in got:
            torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6, msg=name)
        for name in ('bn1.weight', 'fc.bias'):
            self.assertGreater(float((got[name] - penalised_all[name]).abs().max()), 1e-3, name)

    def test_optimizers_of_each_regularizer(self):
        model = build_model(tiny_resnet(), [3, 8, 8], 3)
        default = make_optimizer(model, tiny_resnet())
        self.assertIs(type(default), torch.optim.Adam)
        self.assertEqual([g['weight_decay'] for g in default.param_groups], [0.1, 0.0])
        self.assertEqual([id(p) for p in default.param_groups[0]['params']],
                         [id(p) for p in kernel_parameters(model)])
        coupled = make_optimizer(model, dict(tiny_resnet(), regularizer='adam'))
        decoupled = make_optimizer(model, dict(tiny_resnet(), regularizer='adamw'))
        self.assertIs(type(coupled), torch.optim.Adam)
        self.assertIs(type(decoupled), torch.optim.AdamW)
        for optimizer in (coupled, decoupled):
            # Every parameter, biases and batch norm included, decays by l2.
            self.assertEqual(len(optimizer.param_groups), 1)
            self.assertEqual(optimizer.param_groups[0]['weight_decay'], 0.05)
            self.assertEqual(len(optimizer.param_groups[0]['params']), len(list(model.parameters())))

    def test_every_regularizer_hops_bit_for_bit(self):
        for regularizer in ('kernel-l2', 'adam', 'adamw'):
            config = dict(tiny_resnet(), regularizer=regularizer)
            a = Trainer.create(config, [3, 8, 8], 3, seed=1)
            a.train_tensors(*batch(0))
            b = Trainer.from_bytes(a.to_bytes(), config, [3, 8, 8], 3)
            a.train_tensors(*batch(1))
            b.train_tensors(*batch(1))
            self.assertTrue(torch.equal(a.flat.params, b.flat.params), regularizer)
            self.assertTrue(torch.equal(a.flat.exp_avg_sq, b.flat.exp_avg_sq), regularizer)

    def test_unknown_regularizer(self):
        with self.assertRaisesRegex(ValueError, "unknown regularizer 'sgd'.*kernel-l2, adam, adamw"):
            Trainer.create(dict(tiny_resnet(), regularizer='sgd'), [3, 8, 8], 3, seed=0)


if __name__ == '__main__':
    unittest.main()
