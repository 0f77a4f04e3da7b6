"""The architectures of the workloads: an MLP (Criteo), a VGG-style and a ResNet-style CNN
(ImageNet-like). `config` is the ModelConfig JSON of src/core/workload.ts (camelCase)."""

import math

import torch
from torch import nn

DEFAULT_HIDDEN = (1000, 500)  # the paper's Criteo MLP
DEFAULT_WIDTH = 16


def _prod(shape):
    out = 1
    for d in shape:
        out *= int(d)
    return out


def architecture_key(config, input_shape, classes):
    """What determines the module structure (not the optimiser): configs with equal keys can
    share a module object, one at a time."""
    arch = config.get('arch')
    if arch == 'mlp':
        shape = tuple(int(h) for h in (config.get('hidden') or DEFAULT_HIDDEN))
    elif arch in ('vgg', 'resnet'):
        shape = int(config.get('width') or DEFAULT_WIDTH)
    else:
        shape = None
    return (arch, shape, tuple(int(d) for d in input_shape), int(classes))


def build_model(config, input_shape, classes, device=None):
    """A fresh torch.nn.Module for config['arch'] in 'mlp', 'vgg', 'resnet', initialised from
    torch's global RNG on the CPU (or on `device`; 'meta' builds it without memory or
    initialisation, for a model whose weights come from a checkpoint: see to_empty)."""
    arch = config.get('arch')
    input_shape = [int(d) for d in input_shape]
    classes = int(classes)
    if classes < 2:
        raise ValueError('classes must be at least 2, got %d' % classes)
    if arch == 'mlp':
        return mlp(input_shape, classes, config.get('hidden') or DEFAULT_HIDDEN, device)
    if arch == 'vgg':
        return vgg(input_shape, classes, int(config.get('width') or DEFAULT_WIDTH), device)
    if arch == 'resnet':
        return resnet(input_shape, classes, int(config.get('width') or DEFAULT_WIDTH), device=device)
    raise ValueError("unknown arch %r (expected 'mlp', 'vgg' or 'resnet')" % (arch,))


def mlp(input_shape, classes, hidden, device=None):
    """Linear layers of the given widths with ReLU between them; any input shape is flattened."""
    layers = []
    if len(input_shape) > 1:
        layers.append(nn.Flatten())
    width = _prod(input_shape)
    for h in hidden:
        layers += [nn.Linear(width, int(h), device=device), nn.ReLU(inplace=True)]
        width = int(h)
    layers.append(nn.Linear(width, classes, device=device))
    return nn.Sequential(*layers)


def _image_shape(input_shape, arch):
    if len(input_shape) != 3:
        raise ValueError('%s needs input shape [channels, height, width], got %r' % (arch, input_shape))
    return input_shape


# Convolutions per stage, VGG-11 pattern (A): 1, 1, 2, 2, 2.
_VGG_CONVS = (1, 1, 2, 2, 2)


def vgg(input_shape, classes, width, device=None):
    """VGG-style: stages of 3x3 conv + ReLU then 2x2 max pool, channels width*(1, 2, 4, 8, 8),
    as many stages as the image allows (16x16: 3, 32x32: 4, >= 64: 5), then a small
    classifier (flatten, linear, ReLU, linear)."""
    channels, height, wide = _image_shape(input_shape, 'vgg')
    side = min(height, wide)
    stages = max(1, min(5, int(math.log2(side)) - 1))
    layers = []
    c_in = channels
    h, w = height, wide
    for s in range(stages):
        c_out = width * (2 ** min(s, 3))
        for _ in range(_VGG_CONVS[s]):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, device=device), nn.ReLU(inplace=True)]
            c_in = c_out
        layers.append(nn.MaxPool2d(2))
        h, w = h // 2, w // 2
    hidden = c_in
    layers += [
        nn.Flatten(),
        nn.Linear(c_in * h * w, hidden, device=device),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, classes, device=device),
    ]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """ResNet basic block: conv-BN-ReLU-conv-BN plus the (projected when the shape changes)
    input, then ReLU."""

    def __init__(self, c_in, c_out, stride, device=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False, device=device)
        self.bn1 = nn.BatchNorm2d(c_out, device=device)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False, device=device)
        self.bn2 = nn.BatchNorm2d(c_out, device=device)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False, device=device),
                nn.BatchNorm2d(c_out, device=device),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def resnet(input_shape, classes, width, blocks_per_stage=2, device=None):
    """ResNet-18-style: a 3x3 stem (stride 2 for images >= 64 px), stages of basic blocks
    with channels width*(1, 2, 4, 8) (2 stages below 16 px, 3 below 32 px, else 4), global
    average pooling and a linear classifier."""
    channels, height, wide = _image_shape(input_shape, 'resnet')
    side = min(height, wide)
    stem_stride = 2 if side >= 64 else 1
    side //= stem_stride
    stages = 2 if side < 16 else 3 if side < 32 else 4
    layers = [
        nn.Conv2d(channels, width, 3, stride=stem_stride, padding=1, bias=False, device=device),
        nn.BatchNorm2d(width, device=device),
        nn.ReLU(inplace=True),
    ]
    c_in = width
    for s in range(stages):
        c_out = width * (2 ** s)
        for b in range(blocks_per_stage):
            layers.append(BasicBlock(c_in, c_out, 2 if (s > 0 and b == 0) else 1, device))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, classes, device=device)]
    return nn.Sequential(*layers)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
