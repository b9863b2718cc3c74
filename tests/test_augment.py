"""Batch augmentations keep shapes and only move, mirror or reshape what is there."""

from __future__ import annotations

import torch

from visionplay.train.augment import AlternatingFlip, DigitAugment, FlipAndShift


def test_flip_and_shift_is_a_window_of_the_padded_image():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 8, 8)
    out = FlipAndShift(pad=2)(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(64):
        windows = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)
    moved = sum(not torch.equal(out[i], x[i]) for i in range(64))
    assert moved > 48  # 1 in 50 stays put: no shift (1/25) and no flip (1/2)


def test_digit_augment_keeps_ink_in_range():
    torch.manual_seed(0)
    x = torch.zeros(16, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0
    out = DigitAugment()(x)
    assert out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert (out.sum(dim=(1, 2, 3)) > 0.3 * x.sum(dim=(1, 2, 3))).all()  # the stroke survives


def test_alternating_flip_shows_every_image_both_ways_in_two_epochs():
    x = torch.rand(100, 3, 4, 4)
    stored = AlternatingFlip.mirror_half(x, seed=0)
    assert torch.equal(stored, AlternatingFlip.mirror_half(x, seed=0))  # fixed by the seed
    mirrored = sum(torch.equal(stored[i], x[i].flip(-1)) for i in range(100))
    assert 30 < mirrored < 70
    flip = AlternatingFlip()
    flip.set_epoch(1)
    odd = flip(stored)
    flip.set_epoch(2)
    even = flip(stored)
    for i in range(100):
        assert torch.equal(even[i], odd[i].flip(-1))
        assert torch.equal(odd[i], x[i]) or torch.equal(even[i], x[i])


def test_reflect_padding_repeats_the_image_not_zeros():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 8, 8) + 1  # no zeros anywhere
    out = FlipAndShift(pad=2, flip=False, padding_mode="reflect")(x)
    assert (out > 0).all()
