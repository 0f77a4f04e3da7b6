// The paper's CNNs at each scale (docs/engine.md): at `paper` the published models exactly (VGG16,
// ResNet18/34/50/152, MobileNetV2 from torchvision), below it narrower and shallower members of the
// same families, so one code path trains everywhere and a tiny config trains in well under a second
// per sub-epoch on one core. The engine adapts each member to the images' size
// (infra/engine/bench_engine/models.py); its parameter count is `param_count` of the engine.
import type { Arch, ModelConfig, ScaleName } from '../src/core/workload.js';

export type ZooArch = Exclude<Arch, 'mlp'>;
export type ZooMember = Required<Pick<ModelConfig, 'width' | 'blocks'>> & { arch: ZooArch };

/** The published members: channels of the first convolution and blocks per stage. */
export const PUBLISHED: Record<ZooArch, { width: number; blocks: number[] }> = {
  vgg16: { width: 64, blocks: [2, 2, 3, 3, 3] },
  resnet18: { width: 64, blocks: [2, 2, 2, 2] },
  resnet34: { width: 64, blocks: [3, 4, 6, 3] },
  resnet50: { width: 64, blocks: [3, 4, 6, 3] },
  resnet152: { width: 64, blocks: [3, 8, 36, 3] },
  mobilenetv2: { width: 32, blocks: [1, 2, 3, 4, 3, 3, 1] },
};

/** Width as a fraction of the published one, per scale (MobileNetV2's floor is 8 channels). */
const WIDTH_FRACTION: Record<ScaleName, number> = { tiny: 1 / 8, small: 1 / 8, medium: 1 / 4, paper: 1 };

/** Blocks per stage of the shallow members (tiny and small); medium and paper keep the published ones. */
const SHALLOW_BLOCKS: Record<ZooArch, number[]> = {
  vgg16: [1, 1, 1, 1, 1],
  resnet18: [1, 1, 1, 1],
  resnet34: [1, 2, 2, 1],
  resnet50: [1, 1, 1, 1],
  resnet152: [1, 2, 4, 1],
  mobilenetv2: [1, 1, 1, 1, 1, 1, 1],
};

/** The member of an architecture's family that a workload trains at this scale. */
export function zooMember(arch: ZooArch, scale: ScaleName): ZooMember {
  const published = PUBLISHED[arch];
  const width = Math.max(8, Math.round(published.width * WIDTH_FRACTION[scale]));
  const blocks = scale === 'tiny' || scale === 'small' ? SHALLOW_BLOCKS[arch] : published.blocks;
  return { arch, width, blocks: [...blocks] };
}

export function isZooArch(arch: string): arch is ZooArch {
  return Object.hasOwn(PUBLISHED, arch);
}

/** grid()'s per-arch extra of a CNN grid: each config's member at this scale. */
export function zooShape(scale: ScaleName): (arch: Arch) => Pick<ModelConfig, 'width' | 'blocks'> {
  return (arch) => {
    if (!isZooArch(arch)) throw new Error(`${arch} is not a CNN of the zoo (${Object.keys(PUBLISHED).join(', ')})`);
    const { width, blocks } = zooMember(arch, scale);
    return { width, blocks };
  };
}
