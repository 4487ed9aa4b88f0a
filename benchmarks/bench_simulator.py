"""Benchmark of the face simulator (issue 3 acceptance): images per second on one core at 64 px, against a floor
reference (a plain PIL drawing of an empty face: head, two eyes, a mouth line, one image at a time), and the time
to build the `cpu` preset on 2 cores the first time and to load it from the cache afterwards.

Run: `.venv/bin/python benchmarks/bench_simulator.py [--skip-cpu-preset]` (uses a temporary cache directory).
Targets: >= 1,000 images/s at 64 px on one core; cpu preset build < 60 s on 2 cores; cached load about 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw


def pil_empty_faces(n: int, size: int) -> np.ndarray:
    """Floor reference: n empty faces drawn with PIL, one at a time."""
    out = np.empty((n, size, size, 3), np.uint8)
    rng = np.random.default_rng(0)
    for i in range(n):
        im = Image.new("RGB", (size, size), tuple(int(x) for x in rng.integers(40, 220, 3)))
        d = ImageDraw.Draw(im)
        s = size / 64
        d.ellipse([14 * s, 8 * s, 50 * s, 56 * s], fill=(220, 185, 160))
        d.ellipse([22 * s, 24 * s, 28 * s, 28 * s], fill=(250, 250, 250))
        d.ellipse([36 * s, 24 * s, 42 * s, 28 * s], fill=(250, 250, 250))
        d.line([26 * s, 44 * s, 38 * s, 44 * s], fill=(150, 60, 60), width=max(1, int(2 * s)))
        out[i] = np.asarray(im)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="images for the one-core rate")
    parser.add_argument("--skip-cpu-preset", action="store_true")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="affect-book-bench-")
    os.environ["AFFECT_BOOK_CACHE"] = cache
    try:
        run(args)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run(args) -> None:
    from affect_book.data.simulator import generate_split, make_config, simulate_all

    config = make_config("affwild2", "cpu", n_train=args.n, n_val=0, n_test=0, image_size=64)
    generate_split(make_config("affwild2", "smoke", n_train=256, n_val=0, n_test=0), "train")  # warm-up
    t0 = time.perf_counter()
    generate_split(config, "train", workers=1)
    sim_rate = args.n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    pil_empty_faces(args.n, 64)
    pil_rate = args.n / (time.perf_counter() - t0)
    print(f"simulator, 64 px, one core: {sim_rate:,.0f} images/s (target >= 1,000: "
          f"{'met' if sim_rate >= 1000 else 'NOT met'})")
    print(f"PIL empty face (floor reference), 64 px: {pil_rate:,.0f} images/s")
    print(f"ratio simulator / PIL empty face: {sim_rate / pil_rate:.2f}")
    if args.skip_cpu_preset:
        return
    cpu = make_config("affwild2", "cpu")
    n_total = cpu.n_train + cpu.n_val + cpu.n_test
    t0 = time.perf_counter()
    simulate_all(cpu, workers=2)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    splits = simulate_all(cpu, workers=2)
    checksum = int(np.asarray(splits["train"].images[-1]).sum())  # touch the data
    load = time.perf_counter() - t0
    print(f"cpu preset ({n_total:,} images at {cpu.image_size} px), first build on 2 workers: {build:.1f} s "
          f"(target < 60 s: {'met' if build < 60 else 'NOT met'})")
    print(f"cpu preset, load from cache: {load:.2f} s (images memory-mapped; checksum of last image {checksum})")
    t0 = time.perf_counter()
    total = sum(int(np.asarray(ds.images, dtype=np.uint8).sum(dtype=np.uint64)) for ds in splits.values())
    print(f"cpu preset, reading every image byte once after loading: {time.perf_counter() - t0:.2f} s "
          f"(sum {total})")


if __name__ == "__main__":
    main()
