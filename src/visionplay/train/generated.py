"""How good a generator's pictures are, as the shipped classifier of their dataset reads
them (the trainer's per-epoch figures and ``visionplay eval``'s are these):

- conditional accuracy: the share of pictures the classifier reads as the class asked for;
- Frechet distance between generated and real pictures in a fixed feature space: the
  classifier's centred log-probabilities (its calibrated logits less their mean: the only
  layer its ONNX file exposes), the Gaussian-fit distance of Heusel et al. 2017 (FID) with
  that space in place of Inception's;
- diversity: within each class, the mean pairwise feature distance of generated pictures
  over that of real ones (a collapsed generator draws one picture per class: near 0).
"""

from __future__ import annotations

import numpy as np

from ..tasks import Classifier

PROBABILITY_FLOOR = 1e-30  # float32 softmax underflows to 0 for very unlikely classes
PAIRS_SAMPLE = 1000  # pictures per class the pairwise distances are taken over


def read(reader: Classifier, pictures: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The classifier's probabilities for (N, 1, H, W) pictures in [0, 1], as the graph
    reads them (no preprocessing: they are already the classifier's input)."""
    pictures = np.asarray(pictures, dtype=np.float32)
    return np.concatenate(
        [reader.run(pictures[i : i + batch]) for i in range(0, len(pictures), batch)]
    )


def features(probabilities: np.ndarray) -> np.ndarray:
    """Centred log-probabilities: the calibrated logits up to their mean."""
    logs = np.log(np.maximum(probabilities.astype(np.float64), PROBABILITY_FLOOR))
    return logs - logs.mean(axis=1, keepdims=True)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^1/2) between two sets of features."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def mean_pairwise_distance(points: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of the first :data:`PAIRS_SAMPLE` points."""
    points = points[:PAIRS_SAMPLE]
    squared = (points**2).sum(1)
    distances = np.sqrt(np.clip(squared[:, None] + squared[None] - 2 * points @ points.T, 0, None))
    n = len(points)
    return float(distances.sum() / (n * (n - 1)))


def diversity(
    generated: np.ndarray, labels: np.ndarray, real: np.ndarray, real_labels: np.ndarray
) -> dict[int, float]:
    """Per class: generated pictures' mean pairwise feature distance over real ones'."""
    return {
        int(c): mean_pairwise_distance(generated[labels == c])
        / mean_pairwise_distance(real[real_labels == c])
        for c in np.unique(real_labels)
    }


def quality(
    probabilities: np.ndarray,
    labels: np.ndarray,
    real_features: np.ndarray,
    real_labels: np.ndarray,
) -> dict[str, float]:
    """Conditional accuracy, Frechet distance to the real pictures' features, and the
    least and mean per-class diversity, for pictures drawn as ``labels`` that the
    classifier read as ``probabilities`` (:func:`read`)."""
    generated = features(probabilities)
    per_class = diversity(generated, labels, real_features, real_labels)
    return {
        "conditional_accuracy": float((probabilities.argmax(1) == labels).mean()),
        "frechet_distance": frechet_distance(generated, real_features),
        "diversity_min": min(per_class.values()),
        "diversity_mean": float(np.mean(list(per_class.values()))),
    }


def mean_plus_noise(
    pictures: np.ndarray, labels: np.ndarray, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The useless generator Frechet distances are set beside: each class's mean picture
    plus Gaussian noise of the class's per-pixel spread, ``count`` per class."""
    rng = np.random.default_rng(seed)
    made, made_labels = [], []
    for c in np.unique(labels):
        own = pictures[labels == c]
        noise = rng.standard_normal((count, *own.shape[1:])) * own.std(0)
        made.append(np.clip(own.mean(0) + noise, 0, 1).astype(np.float32))
        made_labels.append(np.full(count, c))
    return np.concatenate(made), np.concatenate(made_labels)
