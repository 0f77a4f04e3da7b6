// Image folders in the usual ImageNet layout: one sub-folder per class holding PNG or JPEG files,
//   root/<class>/*.png|jpg|jpeg            (split into train/valid by the loader), or
//   root/train/<class>/..., root/val/<class>/...  (root/valid/ also accepted).
// Classes are the folder names in sorted order; label = index in that order. Images are decoded
// (pngjs, jpeg-js), centre-cropped to a square and resized bilinearly to size x size, RGB uint8,
// channels last.
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface ImageFile {
  path: string;
  label: number;
}

export interface ImageFolder {
  classes: string[];
  files: ImageFile[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The class folders under root and their image files, sorted (deterministic). */
export async function scanImageFolder(root: string, classes?: string[]): Promise<ImageFolder> {
  const entries = await readdir(root, { withFileTypes: true });
  const found = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const names = classes ?? found;
  if (names.length === 0) throw new Error(`${root} has no class sub-folders (expected root/<class>/*.png|jpg)`);
  const files: ImageFile[] = [];
  for (let label = 0; label < names.length; label++) {
    const dir = join(root, names[label]);
    if (!(await isDirectory(dir))) continue;
    const images = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
    for (const f of images) files.push({ path: join(dir, f), label });
  }
  if (files.length === 0) throw new Error(`no PNG or JPEG files under ${root}/<class>/`);
  return { classes: names, files };
}

/** Split layout: root/train and root/val (or root/valid) if both exist. */
export async function findImageSplits(root: string): Promise<{ train: string; valid: string } | undefined> {
  const train = join(root, 'train');
  for (const v of ['val', 'valid', 'validation']) {
    const valid = join(root, v);
    if ((await isDirectory(train)) && (await isDirectory(valid))) return { train, valid };
  }
  return undefined;
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width x height x 4 bytes. */
  data: Uint8Array;
}

/** Decode a PNG or JPEG (recognised by its signature). */
export function decodeImage(bytes: Buffer, name = 'image'): RgbaImage {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, data: png.data };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, data: img.data };
  }
  throw new Error(`${name} is neither a PNG nor a JPEG`);
}

/** Centre square crop, then bilinear resize to size x size; RGB uint8, channels last (alpha dropped). */
export function resizeToSquare(img: RgbaImage, size: number): Uint8Array {
  const side = Math.min(img.width, img.height);
  const x0 = (img.width - side) / 2;
  const y0 = (img.height - side) / 2;
  const out = new Uint8Array(size * size * 3);
  const scale = side / size;
  for (let y = 0; y < size; y++) {
    // Sample at pixel centres (align_corners = false).
    const sy = Math.min(img.height - 1, Math.max(0, y0 + (y + 0.5) * scale - 0.5));
    const ya = Math.floor(sy);
    const yb = Math.min(img.height - 1, ya + 1);
    const fy = sy - ya;
    for (let x = 0; x < size; x++) {
      const sx = Math.min(img.width - 1, Math.max(0, x0 + (x + 0.5) * scale - 0.5));
      const xa = Math.floor(sx);
      const xb = Math.min(img.width - 1, xa + 1);
      const fx = sx - xa;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * 4 + c];
        const top = p(ya, xa) * (1 - fx) + p(ya, xb) * fx;
        const bottom = p(yb, xa) * (1 - fx) + p(yb, xb) * fx;
        out[(y * size + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

export async function loadImage(path: string, size: number): Promise<Uint8Array> {
  return resizeToSquare(decodeImage(await readFile(path), path), size);
}
