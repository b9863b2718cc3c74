"""Made-up drawings: the world's digits and things that are not digits, drawn as the
Draw tab's canvas draws, for the digit reader to learn from and be measured on."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from visionplay import strokes as pen
from visionplay.config import MNIST_LABELS, NOT_A_DIGIT
from visionplay.preprocess import prepare_digit
from visionplay.train import handwriting as hw

# What MNIST's American school hands lack, as issue 18 names it.
WORLD_STYLES = [
    ("1", "long up-stroke, no foot"),
    ("7", "crossed"),
    ("4", "open top"),
    ("9", "straight tail"),
    ("2", "looped"),
]
LOOK_LIKE_DIGITS = set("OoIiljJSsZzBbgqGTt")  # as issue 18 lists them


def test_every_digit_is_drawn_in_several_hands_and_the_worlds_styles_are_there():
    names = {(t.label, t.name) for t in hw.DIGITS_TRAIN}
    assert set(WORLD_STYLES) <= names
    for digit in MNIST_LABELS:
        assert sum(t.label == digit for t in hw.DIGITS_TRAIN) >= 2, digit
        assert any(t.label == digit for t in hw.DIGITS_HELD_OUT), digit
    assert {t.label for t in hw.SHAPES_TRAIN + hw.SHAPES_HELD_OUT} == {NOT_A_DIGIT}


def test_held_out_templates_are_not_trained_on():
    def shapes(templates):
        return {repr(t.strokes) for t in templates}

    assert not shapes(hw.DIGITS_TRAIN + hw.SHAPES_TRAIN) & shapes(
        hw.DIGITS_HELD_OUT + hw.SHAPES_HELD_OUT
    )
    assert not set(hw.TRAIN_FONTS) & set(hw.HELD_OUT_FONTS)
    names = {t.name for t in hw.SHAPES_TRAIN + hw.SHAPES_HELD_OUT} | set(hw.FONT_CHARACTERS)
    assert not names & LOOK_LIKE_DIGITS


@pytest.mark.parametrize("template", hw.DIGITS_TRAIN + hw.SHAPES_TRAIN, ids=lambda t: t.name)
def test_a_drawing_is_what_the_canvas_could_send(template):
    rng = np.random.default_rng(0)
    for _ in range(5):
        drawing = hw.drawn(template, rng)
        assert pen.check(pen.to_json(drawing)) == drawing  # on the canvas, widths in range
        assert len(drawing) == len(template.strokes)
        assert all(pen.PEN_WIDTHS[0] <= s.width <= pen.PEN_WIDTHS[1] for s in drawing)


@pytest.mark.parametrize("make", [hw.digit_page, hw.not_digit_page])
def test_pages_are_the_same_for_the_same_seed_and_never_blank(make):
    first = [make(i, 7) for i in range(90)]
    again = [make(i, 7) for i in range(90)]
    other = [make(i, 8) for i in range(90)]
    for (page, label, kind), (same, *_), (changed, *_) in zip(first, again, other, strict=True):
        assert page.mode == "L" and page.size == (pen.CANVAS, pen.CANVAS)
        assert page.tobytes() == same.tobytes()
        assert page.tobytes() != changed.tobytes()
        assert label in (*MNIST_LABELS, NOT_A_DIGIT) and kind
        assert prepare_digit(page).max() == pytest.approx(1.0)  # ink, read as a digit is
    kinds = {kind for _, _, kind in first}
    assert len(kinds) > 20


def test_not_digits_come_in_three_kinds_and_held_out_ones_in_other_fonts():
    kinds = [hw.not_digit_page(i, 0)[2] for i in range(6)]
    assert kinds[0] in {t.name for t in hw.SHAPES_TRAIN}
    assert kinds[1].startswith("printed ") and kinds[2] == "scribble"
    held = [hw.not_digit_page(i, 0, held_out=True)[2] for i in range(0, 60, 3)]
    assert set(held) <= {t.name for t in hw.SHAPES_HELD_OUT}


def test_every_font_prints_every_character():
    rng = np.random.default_rng(0)
    for font in hw.TRAIN_FONTS + hw.HELD_OUT_FONTS:
        for character in hw.FONT_CHARACTERS:
            ink = 255 - np.asarray(hw.printed(character, font, rng))
            assert ink.max() > 200, (font, character)  # no empty box for a missing glyph


@pytest.mark.parametrize("size", [3, 9, 29])
def test_square_filter_is_pils_max_and_min_filter(size):
    ink = np.uint8((np.random.default_rng(size).random((90, 70)) > 0.95) * 255)
    for reduce, pils in ((np.max, ImageFilter.MaxFilter), (np.min, ImageFilter.MinFilter)):
        expected = np.asarray(Image.fromarray(ink).filter(pils(size)))
        assert (hw.square_filter(ink, size, reduce) == expected).all()


def test_redrawn_digits_keep_their_label_and_are_binarised_ink_on_the_canvas():
    seven = np.zeros((28, 28), np.uint8)
    seven[5:8, 6:22], seven[8:24, 18:21] = 255, 255  # a bar and a stem
    digits = [(Image.fromarray(seven), 7)] * 40
    make = hw.RedrawnDigits(digits)
    heights, alphas = set(), set()
    for index in range(40):
        page, label, kind = make(index, 3)
        assert (label, kind) == ("7", "redrawn")
        assert page.size == (pen.CANVAS, pen.CANVAS) and page.mode == "RGBA"
        assert page.tobytes() == make(index, 3)[0].tobytes() != make(index, 4)[0].tobytes()
        alpha = np.asarray(page)[..., 3]
        alphas |= set(np.unique(alpha).tolist())
        heights.add(int(np.ptp(np.nonzero(alpha)[0])))
        assert prepare_digit(page).max() == pytest.approx(1.0)
    assert alphas == {0, 255}  # no anti-aliasing to help the reader
    assert min(heights) < 100 < 300 < max(heights)  # tiny ones and huge ones
