"""Face framing (and its calibration on the detector's boxes), the mirror permutation, and
the training crops held to the serving crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import visionplay
from visionplay import faces
from visionplay.config import FACE_KEYPOINTS
from visionplay.errors import VisionplayError
from visionplay.preprocess import prepare_face
from visionplay.train.augment import KeypointAugment
from visionplay.train.data import face_crops, is_held_out, load_face_frames, person_of


@pytest.fixture(scope="module")
def frames(data_dir):
    return load_face_frames(data_dir, train=False, limit=12)


def test_mirror_permutation_swaps_sides_and_undoes_itself():
    assert sorted(faces.FLIP) == list(range(68))
    np.testing.assert_array_equal(faces.FLIP[faces.FLIP], np.arange(68))
    pairs = {(0, 16), (17, 26), (36, 45), (39, 42), (31, 35), (48, 54), (60, 64), (65, 67)}
    for a, b in pairs:
        assert faces.FLIP[a] == b and faces.FLIP[b] == a
    assert [faces.FLIP[i] for i in (8, 27, 30, 33, 51, 57, 62, 66)] == [
        8,
        27,
        30,
        33,
        51,
        57,
        62,
        66,
    ]


def test_mirrored_real_face_keeps_the_standard_order(frames):
    points = frames.points[0]
    width = frames.grays[0].shape[1]
    mirrored = points.copy()
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    mirrored = mirrored[faces.FLIP]
    # After the swap, point 0 (jaw start) and 36 (outer corner of the eye) are on the left again.
    assert mirrored[0, 0] < mirrored[16, 0] and mirrored[36, 0] < mirrored[45, 0]
    assert mirrored[48, 0] < mirrored[54, 0]


def test_crop_coordinates_round_trip():
    square = faces.Square(120.5, 80.0, 150.0)
    points = np.array([[50.0, 20.0], [120.5, 80.0], [190.0, 140.0]])
    coords = faces.to_crop(points, square, 96)
    np.testing.assert_allclose(coords[1], [0.5, 0.5])
    np.testing.assert_allclose(faces.from_crop(coords, square, 96), points, atol=1e-9)


def test_nme_is_error_over_outer_eye_corner_distance():
    true = np.zeros((68, 2))
    true[36], true[45] = (0, 0), (50, 0)
    predicted = true + np.array([3.0, 4.0])  # every point 5 px off
    assert faces.nme(predicted, true) == pytest.approx(5 / 50)


def test_people_are_held_out_whole_and_stably(frames):
    assert person_of("Kristin_Chenoweth_10.jpg") == "Kristin_Chenoweth"
    names = [f"Person_{i}" for i in range(2000)]
    share = np.mean([is_held_out(n) for n in names])
    assert 0.07 < share < 0.13
    assert is_held_out("Kristin_Chenoweth") == is_held_out("Kristin_Chenoweth")


def test_training_crop_without_jitter_is_the_serving_crop(frames):
    """The torch training transform and the numpy serving path give the same numbers."""
    cfg = FACE_KEYPOINTS
    wide = face_crops(frames, cfg, context=2.0)
    served = face_crops(frames, cfg, context=1.0)
    still = KeypointAugment(
        torch.from_numpy(faces.FLIP),
        context=2.0,
        scale=(1, 1),
        degrees=0,
        shift=0,
        flip=False,
        light=0,
        blur=0,
        occlude=0,
    )
    crops, points = still(*wide.tensors)
    # OpenCV places sample points to 1/32 pixel, so pixels agree to within rounding.
    difference = (crops - served.tensors[0]).abs()
    assert difference.max() < 3 / 255 and difference.mean() < 1e-3
    np.testing.assert_allclose(points.numpy(), served.tensors[1].numpy(), atol=1e-5)
    # And those crops are what serving cuts from the picture for the same square.
    square = faces.square_from_points(frames.points[0], cfg.settings.margin)
    np.testing.assert_allclose(
        prepare_face(np.uint8(frames.grays[0] * 255 + 0.5), cfg, square),
        served.tensors[0][0],
        atol=1 / 255,
    )


def test_flip_mirrors_pixels_and_swaps_point_names(frames):
    wide = face_crops(frames, FACE_KEYPOINTS, context=2.0)
    still = dict(context=2.0, scale=(1, 1), degrees=0, shift=0, light=0, blur=0, occlude=0)
    plain, points = KeypointAugment(torch.from_numpy(faces.FLIP), flip=False, **still)(
        *wide.tensors
    )
    torch.manual_seed(0)
    flipper = KeypointAugment(torch.from_numpy(faces.FLIP), flip=True, **still)
    torch.manual_seed(0)
    mixed, mixed_points = flipper(*wide.tensors)
    flipped = [i for i in range(len(plain)) if not torch.allclose(mixed[i], plain[i])]
    assert flipped, "with p=0.5 over 12 faces at least one is mirrored"
    for i in flipped:
        torch.testing.assert_close(mixed[i], plain[i].flip(-1), atol=1e-5, rtol=0)
        expected = points[i][torch.from_numpy(faces.FLIP)].clone()
        expected[:, 0] = 1 - expected[:, 0]
        torch.testing.assert_close(mixed_points[i], expected, atol=1e-5, rtol=0)


def test_jitter_keeps_points_on_the_features(frames):
    """Points still mark the same pixels after a random crop: the image intensity under
    each point barely changes between the plain and the jittered crop."""
    wide = face_crops(frames, FACE_KEYPOINTS, context=2.0)
    still = KeypointAugment(
        torch.from_numpy(faces.FLIP),
        context=2.0,
        scale=(1, 1),
        degrees=0,
        shift=0,
        flip=False,
        light=0,
        blur=0,
        occlude=0,
    )
    moved = KeypointAugment(
        torch.from_numpy(faces.FLIP), context=2.0, flip=False, light=0, blur=0, occlude=0
    )
    torch.manual_seed(1)
    a, pa = still(*wide.tensors)
    b, pb = moved(*wide.tensors)

    def under(crops, points):
        grid = (points * 2 - 1)[:, :, None, :]  # (N, 68, 1, 2) in grid_sample's units
        return torch.nn.functional.grid_sample(crops, grid, align_corners=False)[:, 0, :, 0]

    assert not torch.allclose(a, b)
    # A point the jitter moved out of the crop samples the border instead: left out.
    inside = ((pb > 0.02) & (pb < 0.98)).all(-1)
    assert inside.float().mean() > 0.9
    assert (under(a, pa) - under(b, pb)).abs()[inside].mean() < 0.03


def test_framing_is_measured_on_the_detectors_boxes(frames):
    detector = visionplay.load("face_detector")
    framing, found = faces.calibrate_framing(detector, frames.grays, frames.points)
    assert found >= 11 / 12
    # Its boxes sit a little high on the 68 points and are a bit wider than their box.
    dx, dy, size = framing
    assert abs(dx) < 0.1 and 0.05 < dy < 0.2 and 0.8 < size < 1.0
    blank = np.full((300, 400), 0.5, dtype=np.float32)
    with pytest.raises(VisionplayError, match="found none of the faces"):
        faces.calibrate_framing(detector, [blank], frames.points[:1])


def test_calibration_recovers_a_known_offset():
    rng = np.random.default_rng(0)
    detections, point_sets = [], []
    for _ in range(20):
        x0, y0, w = *rng.uniform(0, 100, 2), rng.uniform(80, 200)
        detections.append(faces.Detection((x0, y0, x0 + w, y0 + w), 1.0))
        cx, cy, size = x0 + w / 2 + 0.02 * w, y0 + w / 2 + 0.15 * w, 0.9 * w
        point_sets.append(
            np.array([[cx - size / 2, cy - size / 2], [cx + size / 2, cy + size / 2]])
        )
    np.testing.assert_allclose(
        faces.calibrate(detections, point_sets), (0.02, 0.15, 0.9), atol=1e-9
    )


def test_overlays_follow_the_face_size_not_the_picture_size(frames):
    """A 40-pixel face in a large group photo is drawn, not painted over, and a large face
    gets dots a viewer can see."""
    shape = frames.points[0] - frames.points[0].min(0)
    shape = shape / shape.max()

    def painted(side: float, picture: int) -> float:
        points = shape * side + picture / 2
        box = tuple(float(v) for v in (*points.min(0), *points.max(0)))
        face = visionplay.Face(box=box, points=points, score=1.0)
        drawn = np.asarray(faces.draw_faces(Image.new("RGB", (picture, picture)), [face]))
        x0, y0, x1, y1 = (round(v) for v in box)
        return float((drawn[y0:y1, x0:x1].sum(-1) > 0).mean())

    small_radius, small_width = faces.pen((0, 0, 40, 40))
    large_radius, large_width = faces.pen((0, 0, 400, 400))
    assert large_radius >= 8 * small_radius and large_width > small_width
    assert painted(40, 3000) < 0.5  # was a solid blob: dots sized by the picture
    assert painted(400, 3000) > 0.02
