"""Backbones and heads: shapes, local pretrained weights, clear errors."""

import pytest
import torch

from affect_book import models


@pytest.mark.parametrize("name", models.BACKBONES)
def test_every_backbone_gives_three_heads_and_features(name):
    torch.manual_seed(0)
    net = models.build_model(name, n_classes=8, width=8).eval()
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        out = net(images)
    assert out["logits"].shape == (2, 8) and out["va"].shape == (2, 2) and out["au_logits"].shape == (2, 12)
    assert out["features"].shape == (2, net.feature_dim)
    assert out["va"].abs().max() <= 1


def test_uint8_and_float_inputs_agree():
    net = models.build_model("small_cnn", 7, width=8).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.allclose(net(images)["logits"], net(images.float() / 255)["logits"], atol=1e-6)


def test_pretrained_weights_load_from_a_local_file(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    backbone, dim = models.build_backbone("resnet18", tmp_path / "resnet18.pth")
    assert dim == 512
    assert torch.equal(backbone.conv1.weight, reference.conv1.weight)
    with pytest.raises(FileNotFoundError, match="no file"):
        models.build_backbone("resnet18", tmp_path / "missing.pth")
    torch.save({"nonsense": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision resnet18 state dict"):
        models.build_backbone("resnet18", tmp_path / "bad.pth")


def test_unknown_backbone():
    with pytest.raises(ValueError, match="backbone='resnet19'.*Did you mean 'resnet18'"):
        models.build_model("resnet19", 8)
