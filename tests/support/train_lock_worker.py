"""Run by tests/trainer/test_train_cache.py (``python -m support.train_lock_worker``): one process asking for a toy
run; prints whether it trained or loaded it."""

import json
import sys

import torch
from support.toy import toy, toy_config

from affect_book.trainer import train

CONFIG = toy_config(epochs=2, lambda_ot=0.0, cost="none")


def sets():
    return toy(96, 0), toy(32, 1), toy(32, 2)


if __name__ == "__main__":
    torch.set_num_threads(1)
    print("ready", flush=True)
    result = train(CONFIG, *sets(), root=sys.argv[1], progress=False)
    print(json.dumps({"loaded_from_cache": result.loaded_from_cache, "epochs": len(result.history)}), flush=True)
