"""Pieces of the CIFAR-10 recipe: the whitening stem, Lookahead and test-time flips."""

from __future__ import annotations

import torch
from torch import nn

from visionplay.models.objects import FlipShiftTTA, init_whitening
from visionplay.models.registry import create_model
from visionplay.train.optim import Lookahead


def test_whitening_stem_decorrelates_patches():
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.8, 0.3], [0.0, 0.6, 0.5], [0.0, 0.0, 0.4]])
    images = torch.einsum("ij,njhw->nihw", mix, torch.randn(200, 3, 16, 16))
    stem = nn.Conv2d(3, 24, kernel_size=2, bias=False)
    init_whitening(stem, images, eps=0)
    out = stem(images)[:, :12]  # the + half; the other half is its negative
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    covariance = flat @ flat.T / flat.shape[1]
    torch.testing.assert_close(covariance, torch.eye(12), atol=0.05, rtol=0)
    torch.testing.assert_close(stem(images)[:, 12:], -out)


def test_lookahead_pulls_weights_back_and_ends_on_the_slow_copy():
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    start = model.weight.detach().clone()
    inner = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer = Lookahead(inner, model, total_steps=7, decay=lambda progress: 0.5, every=5)

    def step():
        optimizer.zero_grad()
        model(torch.ones(8, 4)).sum().backward()
        optimizer.step()

    for _ in range(4):
        step()
    fast = model.weight.detach().clone()
    step()  # the 5th: halfway back towards the start
    slow = optimizer.slow["weight"].clone()
    assert not torch.equal(fast, start)
    torch.testing.assert_close(model.weight.detach(), slow)
    expected_fast = fast - 0.1 * 8  # one more SGD step on a constant gradient of 8
    torch.testing.assert_close(slow, 0.5 * start + 0.5 * expected_fast)

    state = optimizer.state_dict()
    step()
    step()  # the last step: the weights become the slow copy, unchanged by it
    torch.testing.assert_close(model.weight.detach(), slow)
    optimizer.load_state_dict(state)
    assert optimizer.steps == 5


def test_tta_averages_mirrored_and_shifted_views_only_in_eval():
    net = create_model("cifar10", widths=(8, 16, 16))
    assert isinstance(net, FlipShiftTTA) and net.level == 2
    x = torch.rand(2, 3, 32, 32)
    net.train()
    plain = net.net(x)
    torch.testing.assert_close(net(x), plain)
    net.eval()
    with torch.no_grad():
        mirrored = net(x)
        net.level = 1
        torch.testing.assert_close(net(x), 0.5 * (net.net(x) + net.net(x.flip(-1))))
    assert not torch.allclose(mirrored, net(x))
