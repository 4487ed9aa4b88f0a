"""GPU check: ResNet-18 multi-task training at 112 px in fp32 and in bf16 autocast.

Measures images per second of the training step for each precision (CUDA-synchronised timing after warm-up) and
checks that both reach the same loss after a few hundred steps on the same data and seed. Prints one table and a
verdict; exits non-zero if the losses disagree. Run it on a CUDA machine:

    python tools/gpu_check.py                      # 300 steps, batch 256
    python tools/gpu_check.py --device cpu --steps 3 --batch 8    # a quick check that the script itself works

Record the printed figures, naming the card, in chapter 06 / the README.
"""

import argparse
import sys
import time

import numpy as np
import torch

from affect_book.device import seed_everything
from affect_book.models import build_model
from affect_book.trainer import TrainConfig, multitask_loss

CLASSES = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")


def learnable_batch(n: int, size: int, generator: torch.Generator):
    """Images whose class sets the position of a bright square; VA and AUs follow the class."""
    y = torch.randint(0, len(CLASSES), (n,), generator=generator)
    images = torch.randint(0, 80, (n, 3, size, size), generator=generator, dtype=torch.uint8)
    side = size // 4
    for k in range(len(CLASSES)):
        rows = y == k
        r, c = (k // 4) * side * 2, (k % 4) * side
        images[rows, :, r:r + side, c:c + side] = 230
    va = torch.stack([torch.cos(y * 0.8), torch.sin(y * 0.8)], 1) * 0.8
    au = (torch.arange(12)[None, :] % (y[:, None] + 2) == 0).long()
    return {"image": images, "expression": y, "va": va.float(), "au": au}


def run(precision: str, device: torch.device, steps: int, batch: int, size: int, data: list) -> dict:
    seed_everything(0)
    model = build_model("resnet18", len(CLASSES)).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    config = TrainConfig(classes=CLASSES, lambda_ot=0.5, cost="va")  # Other: the mean-cost rule of affect_book.costs
    from affect_book.trainer import cost_tensor

    cost = cost_tensor(config).to(device)
    losses, timed, start = [], 0, None
    warmup = min(20, steps // 3)
    for step in range(steps):
        b = {k: v.to(device, non_blocking=True) for k, v in data[step % len(data)].items()}
        x = b["image"].contiguous(memory_format=torch.channels_last)
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else torch.autocast(
            device.type, enabled=False)
        with ctx:
            out = model(x)
        loss, _ = multitask_loss(out, b, config, cost)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if step >= warmup:
            timed += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tail = torch.stack(losses[-max(1, steps // 10):]).float().mean().item()
    return {"precision": precision, "images_per_s": timed / seconds, "final_loss": tail}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--tolerance", type=float, default=0.05, help="largest allowed |loss_bf16 - loss_fp32|")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: run this on a GPU machine, or with --device cpu for a quick check of the script")
        return 2
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    g = torch.Generator().manual_seed(0)
    data = [learnable_batch(args.batch, args.size, g) for _ in range(16)]
    rows = [run(prec, device, args.steps, args.batch, args.size, data) for prec in ("fp32", "bf16")]
    for r in rows:
        print(f"{r['precision']:>5}: {r['images_per_s']:9.1f} images/s, loss over the last tenth {r['final_loss']:.4f}")
    speedup = rows[1]["images_per_s"] / rows[0]["images_per_s"]
    gap = abs(rows[1]["final_loss"] - rows[0]["final_loss"])
    print(f"bf16 / fp32 throughput: {speedup:.2f}x; loss gap {gap:.4f} (tolerance {args.tolerance})")
    ok = np.isfinite(gap) and gap <= args.tolerance
    print("verdict:", "same loss" if ok else "LOSSES DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
