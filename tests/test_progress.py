"""Progress bars only where they render (a terminal, a notebook); one line per epoch elsewhere."""

import io
import sys

from support.toy import toy, toy_config

from affect_book import progress
from affect_book.trainer import train


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bars_only_on_a_terminal(monkeypatch):
    assert not progress.in_notebook()
    assert not progress.wants_bars(io.StringIO()) and progress.wants_bars(_Terminal())
    closed = io.StringIO()
    closed.close()
    assert not progress.wants_bars(closed)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    items = range(3)
    assert progress.progress_bar(items, desc="x") is items
    monkeypatch.setattr(sys, "stderr", _Terminal())
    bar = progress.progress_bar(items, desc="x")
    assert bar is not items and list(bar) == [0, 1, 2]
    assert progress.progress_bar(items, enabled=False) is items


def test_trainer_writes_one_line_per_epoch_to_a_log(tmp_path, monkeypatch):
    """Issue 9, point 25: with stderr redirected to a file every tqdm update used to become a line."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    lines = []
    train(toy_config(epochs=2, batch_size=16), toy(96, 0), toy(32, 1), root=tmp_path, progress=True,
          log=lines.append)
    assert err.getvalue() == ""
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("loss" in line and "val P_MTL" in line for line in lines)
