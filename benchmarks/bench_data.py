"""Training input from the prepared cache versus decoding the JPEGs every time, on ONE core.

Writes source JPEGs (face-like smooth images; by default 256 px with a face box, like AffectNet's originals, and
112 px crops, like Aff-Wild2's cropped_aligned), then measures, single-threaded:

- decode every time: decode + crop + resize each JPEG (affect_book.data.prepare.decode_face), batch, augment;
- prepared cache: decode once (prepare), then read batches from the memory-mapped cache and augment on tensors
  (random crop with padding + horizontal flip, batched on uint8, then to float).

Both feed the same stand-in consumer (a mean over the float batch); the model's own time is not included. The
cache is also measured handing over augmented uint8 batches (a GPU loop moves uint8 and converts on the GPU).
Target: the cache feeds >= 5,000 images/s per core at 112 px. Usage::

    python benchmarks/bench_data.py [--images 1000] [--repeat 10] [--size 112] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from affect_book.data.batches import iterate_batches, random_crop, random_flip, to_float  # noqa: E402
from affect_book.data.prepare import decode_face, prepare  # noqa: E402
from affect_book.data.records import RecordIndex  # noqa: E402


def face_like(rng, side: int) -> np.ndarray:
    """A smooth random image (low-frequency colour field plus mild noise): JPEG sizes close to real photos."""
    low = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(low).resize((side, side), Image.BICUBIC), dtype=np.float32)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_sources(folder: Path, n: int, side: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(face_like(rng, side)).save(path, quality=90)
        paths.append(path)
    return paths


def records_of(paths, box, repeat: int) -> RecordIndex:
    paths = [str(p) for p in paths] * repeat
    n = len(paths)
    return RecordIndex("bench", "train", "bench", ("Neutral", "Happy"), np.array(paths, dtype=object),
                       np.tile(np.array(box), (n, 1)), np.arange(n) % 2, np.zeros((n, 2)), np.zeros((n, 12)),
                       np.array([str(i) for i in range(n)], dtype=object))


def consume(images: torch.Tensor, g: torch.Generator, convert: bool = True) -> float:
    """Augment on uint8; ``convert``: also turn the batch into float on this CPU (a GPU loop converts on the GPU)."""
    x = random_flip(random_crop(images, padding=8, generator=g), generator=g)
    return float(to_float(x).mean()) if convert else int(x[0, 0, 0, 0])


def rate_decode_each_time(paths, box, size, batch_size, seconds=4.0) -> float:
    g = torch.Generator().manual_seed(0)
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        batch = np.stack([decode_face(paths[(i + k) % len(paths)], box, size) for k in range(batch_size)])
        consume(torch.from_numpy(batch).permute(0, 3, 1, 2), g)
        i += batch_size
        done += batch_size
    return done / (time.perf_counter() - start)


def rate_cache(dataset, batch_size, epochs, convert=True) -> float:
    g = torch.Generator().manual_seed(0)
    done, start = 0, time.perf_counter()
    for epoch in range(epochs):
        for batch in iterate_batches(dataset, batch_size, shuffle=True, seed=epoch):
            consume(batch["image"], g, convert)
            done += len(batch["image"])
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="distinct source JPEGs per source size")
    parser.add_argument("--repeat", type=int, default=10, help="cache holds images x repeat records")
    parser.add_argument("--size", type=int, default=112, help="training resolution (pixels per side)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"one core (torch threads {torch.get_num_threads()}), {args.size} px, batch {args.batch_size}, "
          f"augmentation: random crop (pad 8) + flip on uint8 tensors, then float")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, side, box in (("256 px originals with a 180 px face box", 256, (38, 30, 180, 180)),
                                 ("112 px face crops (Aff-Wild2 style)", 112, (-1, -1, -1, -1))):
            folder = tmp / f"src{side}"
            folder.mkdir()
            paths = write_sources(folder, args.images, side)
            mean_kb = np.mean([p.stat().st_size for p in paths]) / 1024
            decode = rate_decode_each_time(paths, box, args.size, args.batch_size)
            records = records_of(paths, box, args.repeat)
            start = time.perf_counter()
            cache = prepare(records, image_size=args.size, cache_dir=tmp / f"cache{side}", workers=1,
                            chunk_size=1024)
            prepare_rate = len(records) / (time.perf_counter() - start)
            data = cache.dataset()
            rate_cache(data, args.batch_size, 1)  # warm the page cache: steady-state epochs
            cached = rate_cache(data, args.batch_size, args.epochs)
            cached_u8 = rate_cache(data, args.batch_size, args.epochs, convert=False)
            print(f"\nsource: {label}, {args.images} JPEGs, mean {mean_kb:.1f} KiB")
            print(f"  decode every time      : {decode:9.0f} images/s")
            print(f"  prepare (once, 1 proc) : {prepare_rate:9.0f} images/s  ({len(records)} records)")
            print(f"  prepared cache         : {cached:9.0f} images/s  ({args.epochs} epochs of {len(data)}; "
                  f"augmented and converted to float on this core)")
            print(f"  prepared cache, uint8  : {cached_u8:9.0f} images/s  (augmented uint8 batches, as fed to a GPU "
                  f"that converts to float itself)")
            print(f"  cache / decode         : {cached / decode:9.1f} x (float on CPU), "
                  f"{cached_u8 / decode:.1f} x (uint8 feed)")
            print(f"  target >= 5,000 images/s per core: uint8 feed {'met' if cached_u8 >= 5000 else 'NOT met'}, "
                  f"with float conversion on the CPU {'met' if cached >= 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
