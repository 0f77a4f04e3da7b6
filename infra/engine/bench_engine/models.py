"""The architectures of the workloads: the Criteo MLP and a zoo of the paper's CNNs.

`config` is the ModelConfig JSON of src/core/workload.ts (camelCase). Architectures (`arch`):

  mlp          Linear layers of `hidden` widths (default 1000-500, Table 5's Criteo MLP)
  vgg16        torchvision's VGG16 (Table 5)
  resnet18/34  torchvision's ResNet18 / ResNet34 (Figure 12's Hyperopt space)
  resnet50     torchvision's ResNet50 (Table 5, Figure 10, Figure 15)
  resnet152    torchvision's ResNet152 (Figure 15)
  mobilenetv2  torchvision's MobileNetV2 (Figure 11's fast model; Figure 15's MobileNet)

A CNN config may scale its member of the family down with `width` (channels of the first
convolution: 64 for VGG16 and the ResNets, 32 for MobileNetV2, as published) and `blocks` (per
stage: VGG16's 3x3 convolutions (2, 2, 3, 3, 3), the ResNets' residual blocks, MobileNetV2's
inverted residual blocks per bottleneck group (1, 2, 3, 4, 3, 3, 1)). Every member is built from
torchvision's own classes and blocks, so the same code trains at every scale; with the published
width and blocks on ImageNet-sized images (at least 64 px) the module is exactly torchvision's
(`published_model`; tests compare the two). docs/engine.md says how the small members adapt to
small images and lists the parameter counts.

Dropout is off in every member (p = 0): Keras' VGG16 and MobileNetV2, which the paper trained,
have none, and without it training is deterministic, so a model that hops trains bit for bit like
one that does not.
"""

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .util import prod

DEFAULT_HIDDEN = (1000, 500)  # the paper's Criteo MLP

ArchKey = Tuple[str, object, Tuple[int, ...], int]
Device = Union[torch.device, str, None]


class Member:
    """A family member as published: torchvision's builder, the first convolution's channels
    and the blocks per stage."""

    def __init__(self, builder: str, width: int, blocks: Sequence[int]):
        self.builder = builder
        self.width = width
        self.blocks = tuple(blocks)


ZOO: Dict[str, Member] = {
    'vgg16': Member('vgg16', 64, (2, 2, 3, 3, 3)),
    'resnet18': Member('resnet18', 64, (2, 2, 2, 2)),
    'resnet34': Member('resnet34', 64, (3, 4, 6, 3)),
    'resnet50': Member('resnet50', 64, (3, 4, 6, 3)),
    'resnet152': Member('resnet152', 64, (3, 8, 36, 3)),
    'mobilenetv2': Member('mobilenet_v2', 32, (1, 2, 3, 4, 3, 3, 1)),
}
ARCHS = ('mlp',) + tuple(ZOO)
_BOTTLENECK = ('resnet50', 'resnet152')

# Images at least this wide get the published stems (ResNet: 7x7 stride-2 convolution and max pool).
IMAGENET_SIDE = 64
_VGG_HIDDEN = 4096  # VGG16's classifier width at the published width (64)


def _arch(config: dict) -> str:
    arch = config.get('arch')
    if arch not in ARCHS:
        raise ValueError('unknown arch %r (expected one of %s)' % (arch, ', '.join(ARCHS)))
    return arch


def _shape_of(config: dict, arch: str) -> Tuple[int, Tuple[int, ...]]:
    """(width, blocks) of a CNN config, the published ones where the config does not say."""
    member = ZOO[arch]
    width = int(config.get('width') or member.width)
    blocks = tuple(int(b) for b in (config.get('blocks') or member.blocks))
    if width < 1:
        raise ValueError('%s: width must be at least 1, got %d' % (arch, width))
    if len(blocks) != len(member.blocks) or min(blocks) < 1:
        raise ValueError('%s: blocks must be %d counts of at least 1 (published: %s), got %s'
                         % (arch, len(member.blocks), list(member.blocks), list(blocks)))
    return width, blocks


def architecture_key(config: dict, input_shape: Sequence[int], classes: int) -> ArchKey:
    """What determines the module structure (not the optimiser): configs with equal keys can
    share a module object, one at a time."""
    arch = _arch(config)
    if arch == 'mlp':
        shape: object = tuple(int(h) for h in (config.get('hidden') or DEFAULT_HIDDEN))
    else:
        shape = _shape_of(config, arch)
    return (arch, shape, tuple(int(d) for d in input_shape), int(classes))


def build_model(config: dict, input_shape: Sequence[int], classes: int, device: Device = None) -> nn.Module:
    """A fresh torch.nn.Module for config['arch'], initialised from torch's global RNG on the CPU.
    device='meta' builds the MLP without memory or initialisation, for a model whose weights come
    from a checkpoint (see checkpoint.FlatState); the CNNs are built on the CPU either way."""
    arch = _arch(config)
    input_shape = [int(d) for d in input_shape]
    classes = int(classes)
    if classes < 2:
        raise ValueError('classes must be at least 2, got %d' % classes)
    if arch == 'mlp':
        return mlp(input_shape, classes, config.get('hidden') or DEFAULT_HIDDEN, device)
    width, blocks = _shape_of(config, arch)
    side = _image_side(input_shape, arch)
    if arch == 'vgg16':
        return vgg16(side, classes, width, blocks)
    if arch == 'mobilenetv2':
        return mobilenet_v2(side, classes, width, blocks)
    return resnet(arch, side, classes, width, blocks)


def mlp(input_shape: Sequence[int], classes: int, hidden: Sequence[int], device: Device = None) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them; any input shape is flattened."""
    layers: List[nn.Module] = []
    if len(input_shape) > 1:
        layers.append(nn.Flatten())
    width = prod(input_shape)
    for h in hidden:
        layers += [nn.Linear(width, int(h), device=device), nn.ReLU(inplace=True)]
        width = int(h)
    layers.append(nn.Linear(width, classes, device=device))
    return nn.Sequential(*layers)


def _image_side(input_shape: Sequence[int], arch: str) -> int:
    if len(input_shape) != 3 or input_shape[0] != 3:
        raise ValueError('%s needs input shape [3, height, width], got %r' % (arch, list(input_shape)))
    side = min(input_shape[1], input_shape[2])
    if side < 8:
        raise ValueError('%s needs images of at least 8x8 pixels, got %r' % (arch, list(input_shape)))
    return side


def halvings(side: int) -> int:
    """How many times a VGG or MobileNetV2 member halves its feature maps on images of this
    side: 5 as published on images of 64 px and more, fewer on small images so the last feature
    map keeps at least 2x2 pixels (16 px: 3, 32 px: 4)."""
    return max(1, min(5, int(math.log2(side)) - 1))


def _init_like_torchvision(model: nn.Module, linear_std: Optional[float]) -> None:
    """torchvision's initialisation of its CNNs: convolutions Kaiming-normal (fan out), batch
    norm 1 and 0, linear layers N(0, linear_std) with zero bias (VGG) or PyTorch's default
    (linear_std None: ResNet)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0, linear_std)
            nn.init.constant_(m.bias, 0)


def _torchvision_models():
    try:
        import torchvision.models  # 0.2 s: paid by the first CNN a process builds
    except ImportError as error:
        raise ImportError('the CNNs of the model zoo need torchvision (%s); install it: bash infra/setup.sh '
                          '(or apt-get install python3-torchvision)' % error) from error
    return torchvision.models


def _bare(cls: type) -> nn.Module:
    """An instance of one of torchvision's model classes (its forward, its _make_layer) whose
    constructor did not run: the constructors fix the published widths, which the scaled members
    change. The caller sets every attribute the forward uses."""
    model = cls.__new__(cls)
    nn.Module.__init__(model)
    return model


def vgg16(side: int, classes: int, width: int, blocks: Sequence[int]) -> nn.Module:
    """VGG16 (torchvision's VGG with make_layers): stages of `blocks` 3x3 convolutions of width x
    (1, 2, 4, 8, 8) channels, each followed by a 2x2 max pool while halvings(side) allow, then the
    classifier. At the published width the classifier is torchvision's (pool to 7x7, 4096, 4096);
    a narrower member pools globally and scales the 4096 with its width, so it stays small."""
    tv = _torchvision_models()
    cfg: List[Union[int, str]] = []
    pools = halvings(side)
    for stage, convs in enumerate(blocks):
        cfg += [width * (2 ** min(stage, 3))] * convs
        if stage < pools:
            cfg.append('M')
    model = _bare(tv.vgg.VGG)
    channels = width * 8
    published = width >= ZOO['vgg16'].width
    pooled = 7 if published else 1
    hidden = _VGG_HIDDEN if published else max(classes, _VGG_HIDDEN * width // ZOO['vgg16'].width)
    model.features = tv.vgg.make_layers(cfg)
    model.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
    model.classifier = nn.Sequential(
        nn.Linear(channels * pooled * pooled, hidden),
        nn.ReLU(True),
        nn.Dropout(p=0.0),
        nn.Linear(hidden, hidden),
        nn.ReLU(True),
        nn.Dropout(p=0.0),
        nn.Linear(hidden, classes),
    )
    _init_like_torchvision(model, linear_std=0.01)
    return model


def resnet(arch: str, side: int, classes: int, width: int, blocks: Sequence[int]) -> nn.Module:
    """A ResNet (torchvision's ResNet class, BasicBlock for 18/34, Bottleneck for 50/152): four
    stages of `blocks` residual blocks of width x (1, 2, 4, 8) channels (x4 out of a bottleneck),
    global average pooling, a linear classifier. Images of IMAGENET_SIDE px and more get the
    published stem (7x7 stride-2 convolution, 3x3 stride-2 max pool); smaller ones a 3x3 stride-1
    convolution and no max pool (the CIFAR stem of He et al. 2016, section 4.2)."""
    tv = _torchvision_models()
    block = tv.resnet.Bottleneck if arch in _BOTTLENECK else tv.resnet.BasicBlock
    model = _bare(tv.resnet.ResNet)
    model._norm_layer = nn.BatchNorm2d
    model.inplanes = width
    model.dilation = 1
    model.groups = 1
    model.base_width = 64  # a bottleneck's inner width is its planes (torchvision's width_per_group)
    imagenet_stem = side >= IMAGENET_SIDE
    if imagenet_stem:
        model.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    else:
        model.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
    model.bn1 = nn.BatchNorm2d(width)
    model.relu = nn.ReLU(inplace=True)
    model.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if imagenet_stem else nn.Identity()
    model.layer1 = model._make_layer(block, width, blocks[0])
    model.layer2 = model._make_layer(block, width * 2, blocks[1], stride=2)
    model.layer3 = model._make_layer(block, width * 4, blocks[2], stride=2)
    model.layer4 = model._make_layer(block, width * 8, blocks[3], stride=2)
    model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    model.fc = nn.Linear(width * 8 * block.expansion, classes)
    _init_like_torchvision(model, linear_std=None)
    return model


def mobilenet_v2(side: int, classes: int, width: int, blocks: Sequence[int]) -> nn.Module:
    """MobileNetV2 (torchvision's class) with width_mult = width / 32 and `blocks` inverted
    residual blocks per bottleneck group. On small images the earliest stride-2 groups keep their
    resolution (stride 1) so the network halves its maps halvings(side) times in all."""
    tv = _torchvision_models()
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
               [6, 320, 1, 1]]
    # The stem halves once; keep the last (halvings - 1) stride-2 groups.
    drop = 4 - (halvings(side) - 1)
    for row, n in zip(setting, blocks):
        row[2] = n
        if row[3] == 2 and drop > 0:
            row[3] = 1
            drop -= 1
    return tv.MobileNetV2(num_classes=classes, width_mult=width / ZOO['mobilenetv2'].width,
                          inverted_residual_setting=setting, dropout=0.0)


def published_model(arch: str, classes: int = 1000) -> nn.Module:
    """torchvision's own builder for a zoo member, random init (no weights are downloaded), no
    dropout: what build_model must equal at the published width and blocks."""
    tv = _torchvision_models()
    options = {'dropout': 0.0} if arch in ('vgg16', 'mobilenetv2') else {}
    return getattr(tv, ZOO[arch].builder)(weights=None, num_classes=classes, **options)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


_COUNTS: Dict[ArchKey, int] = {}


def parameter_count_of(config: dict, input_shape: Sequence[int], classes: int) -> int:
    """The parameter count of config's model (built once per architecture and process)."""
    key = architecture_key(config, input_shape, classes)
    if key not in _COUNTS:
        with torch.random.fork_rng(devices=[]):
            _COUNTS[key] = parameter_count(build_model(config, input_shape, classes))
    return _COUNTS[key]


def kernel_parameters(model: nn.Module) -> List[nn.Parameter]:
    """The weights Keras' kernel_regularizer applies to: those of linear and convolution layers
    (depthwise ones included); not biases, not batch norm."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def l2_penalty(model: nn.Module, l2: float) -> torch.Tensor:
    """Keras' L2 kernel regularisation term: l2 * sum(w^2) over kernel_parameters(model)."""
    kernels = kernel_parameters(model)
    if not kernels:
        return torch.zeros(())
    return l2 * torch.stack([w.pow(2).sum() for w in kernels]).sum()

