"""The multi-task network: a backbone and three heads (expression, valence-arousal, action units).

Introduced in chapter 05. Backbones: ``small_cnn`` (learns the simulator on a CPU in minutes) and torchvision's
``resnet18``, ``resnet50``, ``mobilenet_v3_small``, ``mobilenet_v3_large``, ``efficientnet_b0``,
``convnext_tiny``. Pretrained weights come only from a local file the reader gives (a torchvision state dict,
loaded with ``torch.load(..., weights_only=True)``); nothing is downloaded.

Images enter as uint8 (batch, 3, H, W) RGB (or float in [0, 1]); the network scales and normalizes them itself,
so the data pipeline can stay in uint8 end to end.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .params import check_choice

__all__ = ["BACKBONES", "MultiTaskNet", "SmallCNN", "build_backbone", "build_model"]

#: ImageNet statistics, used by every backbone (the small CNN too, for uniformity).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

BACKBONES = ("small_cnn", "resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
             "convnext_tiny")


class SmallCNN(nn.Module):
    """Four conv-norm-ReLU blocks (a stride-2 stem, then max-pooling), global average pooling:
    (B, 3, H, W) -> (B, 8 * width); each block halves the resolution.

    Parameters
    ----------
    width : int, default 32
        Channels of the first block; the blocks have width, 2, 4 and 8 times width channels.
    norm : {"batch", "group"}, default "batch"
        BatchNorm, or GroupNorm (per sample: its output does not depend on the rest of the batch, so
        data-parallel training on CPUs matches one process exactly).
    """

    def __init__(self, width: int = 32, norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "group"):
            raise ValueError(f"norm={norm!r}; expected 'batch' or 'group'")
        layers, c_in = [], 3
        for block, c_out in enumerate((width, 2 * width, 4 * width, 8 * width)):
            norm_layer = nn.BatchNorm2d(c_out) if norm == "batch" else nn.GroupNorm(min(8, c_out), c_out)
            if block == 0:  # a stride-2 stem: the full-resolution layer costs a quarter of a conv + max-pool
                layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), norm_layer,
                           nn.ReLU(inplace=True)]
            else:
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), norm_layer, nn.ReLU(inplace=True),
                           nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of a batch of normalized images.

        Parameters
        ----------
        x : torch.Tensor of shape (B, 3, H, W)
            Float images, normalized.

        Returns
        -------
        torch.Tensor of shape (B, 8 * width)
            Globally average-pooled features.
        """
        return self.body(x)


def build_backbone(name: str, weights_path: str | Path | None = None, width: int = 32,
                   norm: str = "batch") -> tuple[nn.Module, int]:
    """A feature extractor and its feature size.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONES`.
    weights_path : str or pathlib.Path, optional
        A local torchvision state dict to load (``weights_only=True``); nothing is downloaded. Not for
        ``small_cnn``.
    width : int, default 32
        First-block channels of ``small_cnn`` (ignored by the torchvision backbones).
    norm : {"batch", "group"}, default "batch"
        Normalization of ``small_cnn`` (ignored by the torchvision backbones).

    Returns
    -------
    backbone : torch.nn.Module
        Maps (B, 3, H, W) normalized images to (B, feature_dim) features (its classifier removed).
    feature_dim : int
        The feature size.

    Raises
    ------
    ValueError
        For an unknown name, weights for ``small_cnn``, or a file that is not a state dict of that backbone.
    FileNotFoundError
        When ``weights_path`` does not exist.
    """
    check_choice("backbone", name, BACKBONES)
    if name == "small_cnn":
        if weights_path is not None:
            raise ValueError("small_cnn has no pretrained weights; leave weights_path as None")
        net = SmallCNN(width, norm)
        return net, net.out_features
    import torchvision  # deferred: it adds 1-3 s to the import; only its backbones need it (small_cnn does not)

    model = getattr(torchvision.models, name)(weights=None)
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"pretrained weights for {name}: no file at {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(f"{path} is not a torchvision {name} state dict: {str(err)[:300]}") from None
    if name.startswith("resnet"):
        dim = model.fc.in_features
        model.fc = nn.Identity()
    elif name.startswith("mobilenet_v3"):
        dim = model.classifier[0].in_features
        model.classifier = nn.Identity()
    elif name == "efficientnet_b0":
        dim = model.classifier[-1].in_features
        model.classifier = nn.Identity()
    else:  # convnext_tiny: keep its LayerNorm and Flatten, drop the final Linear
        dim = model.classifier[-1].in_features
        model.classifier[-1] = nn.Identity()
    return model, dim


class MultiTaskNet(nn.Module):
    """A backbone and three linear heads: expression, valence-arousal and action units.

    Parameters
    ----------
    backbone : torch.nn.Module
        Maps (B, 3, H, W) normalized images to (B, feature_dim) features (see :func:`build_backbone`).
    feature_dim : int
        The backbone's feature size.
    n_classes : int
        Expression classes.
    n_aus : int, default 12
        Action units.
    dropout : float, default 0.0
        Dropout on the features before the heads.
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, n_classes: int, n_aus: int = 12,
                 dropout: float = 0.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.expression = nn.Linear(feature_dim, n_classes)
        self.valence_arousal = nn.Linear(feature_dim, 2)
        self.action_units = nn.Linear(feature_dim, n_aus)
        self.feature_dim, self.n_classes, self.n_aus = feature_dim, n_classes, n_aus

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Scale and normalize images with the ImageNet statistics.

        Parameters
        ----------
        images : torch.Tensor of shape (B, 3, H, W)
            RGB, uint8 or float in [0, 1].

        Returns
        -------
        torch.Tensor of shape (B, 3, H, W)
            Float, normalized per channel.
        """
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        return (x - self.mean) / self.std

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three heads' outputs and the features.

        Parameters
        ----------
        images : torch.Tensor of shape (B, 3, H, W)
            uint8 RGB, or float in [0, 1].

        Returns
        -------
        dict of str to torch.Tensor
            ``logits``: (B, n_classes) expression logits; ``va``: (B, 2) valence-arousal in [-1, 1] (tanh);
            ``au_logits``: (B, n_aus) AU logits; ``features``: (B, feature_dim) penultimate features.
        """
        features = self.backbone(self.normalize(images))
        h = self.dropout(features)
        return {"logits": self.expression(h), "va": torch.tanh(self.valence_arousal(h)),
                "au_logits": self.action_units(h), "features": features}


def build_model(backbone: str, n_classes: int, n_aus: int = 12, weights_path: str | Path | None = None,
                width: int = 32, dropout: float = 0.0, norm: str = "batch") -> MultiTaskNet:
    """A :class:`MultiTaskNet` on the named backbone.

    Parameters
    ----------
    backbone : str
        One of :data:`BACKBONES`.
    n_classes : int
        Expression classes.
    n_aus : int, default 12
        Action units.
    weights_path : str or pathlib.Path, optional
        A local torchvision state dict for the backbone (see :func:`build_backbone`).
    width : int, default 32
        First-block channels of ``small_cnn``.
    dropout : float, default 0.0
        Dropout on the features before the heads.
    norm : {"batch", "group"}, default "batch"
        Normalization of ``small_cnn``.

    Returns
    -------
    MultiTaskNet
        The untrained network (or with the backbone's loaded weights).
    """
    net, dim = build_backbone(backbone, weights_path, width, norm)
    return MultiTaskNet(net, dim, n_classes, n_aus, dropout)
