"""The adversarial loop ``trainers/gan.py`` runs: hinge loss, one discriminator step per
generator step (the recipe spectral normalisation makes reliable), a checkpoint that holds
the discriminator and both optimizers so that ``--resume`` continues exactly, and per
epoch the losses, the quality figures of :mod:`.generated` and a grid of samples."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import TensorDataset
from tqdm import tqdm

from ..errors import InvalidInputError
from ..tasks import Generator
from ..tasks.generation import picture_grid
from . import distributed
from .checkpoints import check_resumable, load_checkpoint, model_kwargs_flag
from .loop import Batches, log, save_progress, seed_everything, shuffled_share
from .settings import TrainingSettings, at_least_one, setting

SAMPLE_SEED = 0  # the grid's latent vectors: the same every epoch, so a run can be watched


@dataclasses.dataclass(frozen=True, kw_only=True)
class GanSettings(TrainingSettings):
    # Half the generator's: a small GAN's two sides stay matched.
    discriminator_width: int = setting(
        16, "the discriminator's first layer's channels (give the same to --resume)"
    )
    discriminator_lr: float | None = setting(None, "default: --lr")
    # The generator's extra terms (GeneratorTerms), by weight:
    mode_seeking: float = setting(  # mode_seeking_penalty
        0.0, "weight of the mode-seeking term (Mao et al. 2019) in the generator's loss"
    )
    spread_floor: float = setting(  # spread_shortfall
        0.0,
        "weight of the term that pays the generator's pictures of a class to lie at least "
        "as far apart as the real ones",
    )
    class_loss: float = setting(  # class_hinge
        0.0,
        "weight in the generator's loss of the hinge that makes generated pictures read "
        "as asked by the discriminator's auxiliary classifier (0: no classifier; give the same "
        "on or off to --resume)",
    )
    class_margin: float = setting(
        0.0,
        "by how many logits a generated picture's class must beat every other class's "
        "for the hinge to leave it alone",
    )
    terms_from: int = setting(
        1,
        "the first epoch --mode-seeking, --spread-floor and --class-loss are in the "
        "generator's loss (the discriminator's classifier learns from the first)",
    )
    average_last: int = setting(
        1,
        "ship the mean of the generator's weights at the end of the last N epochs "
        "(1: the last epoch's)",
        metavar="N",
        type=at_least_one,
    )

    @property
    def average_from(self) -> int:
        """The first epoch whose end goes into the generator's average."""
        return max(1, self.epochs - self.average_last + 1)


class Adversaries:
    """The discriminator, both optimizers, the generator's weights as training left them
    and their running mean over the last epochs: what a GAN checkpoint keeps beside the
    generator it ships (saved where a classifier's optimizer state goes)."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        lr: float,
        discriminator_lr: float | None = None,
    ) -> None:
        self.generator, self.discriminator = generator, discriminator
        # DCGAN's betas: Miyato et al.'s (0, 0.9) wants several discriminator steps per
        # generator step; with one, it left the generator drawing one picture per class.
        betas = (0.5, 0.999)
        self.g_optimizer = torch.optim.Adam(generator.parameters(), lr, betas=betas)
        self.d_optimizer = torch.optim.Adam(
            discriminator.parameters(), discriminator_lr or lr, betas=betas
        )
        # Weights and batch-norm statistics alike (SWA's mean of points along the run):
        # a GAN's generator swings from one epoch's end to the next, the mean less so.
        self.average = AveragedModel(generator, use_buffers=True)

    def add_to_average(self) -> None:
        self.average.update_parameters(self.generator)

    @property
    def averaged(self) -> int:
        """How many epochs' ends the average holds."""
        return int(self.average.n_averaged)

    @property
    def shipped(self) -> nn.Module:
        """The generator as exported: the average once it holds any epoch."""
        return self.average.module if self.averaged else self.generator

    def state_dict(self) -> dict[str, Any]:
        return {
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "generator": self.generator.state_dict(),
            "average": self.average.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        if "average" in state:  # older checkpoints hold the trained generator as their model
            self.generator.load_state_dict(state["generator"])
            self.average.load_state_dict(state["average"])


def latents(seed: int, count: int, size: int) -> torch.Tensor:
    """The latent vectors ``load(name).generate(..., seed=seed)`` draws (numpy's)."""
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((count, size), np.float32))


def mode_seeking_penalty(fake: torch.Tensor, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2019 (MSGAN): one over how far apart two pictures of one class lie for
    how far apart their latent vectors do, so that the generator is paid for not drawing
    every latent vector alike. The pairs are neighbours in the (label-ordered) batch."""
    n = len(fake) // 2 * 2
    same = labels[0:n:2] == labels[1:n:2]
    if not same.any():  # a batch's last few may share no class
        return fake.new_zeros(())
    pictures_apart = (fake[0:n:2] - fake[1:n:2]).abs().flatten(1).mean(1)[same]
    latents_apart = (z[0:n:2] - z[1:n:2]).abs().mean(1)[same]
    return 1 / (pictures_apart.mean() / latents_apart.mean() + 1e-5)


def class_spreads(
    pictures: torch.Tensor, labels: torch.Tensor, num_classes: int, pairs: int = 2000
) -> torch.Tensor:
    """How far apart two real pictures of each class lie: the mean absolute difference
    of ``pairs`` pairs drawn at random (a fixed draw: the same every run)."""
    draw_pairs = torch.Generator().manual_seed(0)
    spreads = torch.empty(num_classes)
    for c in range(num_classes):
        own = pictures[labels == c]
        first, second = torch.randint(len(own), (2, pairs), generator=draw_pairs)
        spreads[c] = (own[first] - own[second]).abs().mean()
    return spreads


def spread_shortfall(
    fake: torch.Tensor, labels: torch.Tensor, spreads: torch.Tensor
) -> torch.Tensor:
    """How much closer together the generated pictures of each class in the batch lie
    (the mean over every pair of them) than real ones (``spreads``): a share of the real
    spread, 0 for a class whose pictures lie as far apart or farther; the mean over the
    batch's classes."""
    flat = fake.flatten(1)
    apart = torch.cdist(flat, flat, p=1) / flat.shape[1]
    pairs = (labels[:, None] == labels[None, :]).to(apart.dtype)
    pairs.fill_diagonal_(0)
    classes = torch.zeros_like(spreads)
    apart_sums = classes.index_add(0, labels, (apart * pairs).sum(1))
    pair_counts = classes.index_add(0, labels, pairs.sum(1))
    # A batch's last few may share no class; a real class of one picture has no spread.
    judged = (pair_counts > 0) & (spreads > 0)
    if not judged.any():
        return fake.new_zeros(())
    mean_apart = apart_sums[judged] / pair_counts[judged]
    return F.relu(1 - mean_apart / spreads[judged]).mean()


def class_hinge(logits: torch.Tensor, labels: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """The multi-class hinge (Crammer and Singer 2001) on the discriminator's classifier:
    by how much each picture's asked-for class falls short of beating every other class
    by ``margin`` (in logits), the mean over the batch. A picture read as asked pays
    nothing: the term mends misread pictures without drawing every picture towards its
    class's most typical one, as AC-GAN's cross-entropy does."""
    asked = logits.gather(1, labels[:, None]).squeeze(1)
    best_other = logits.scatter(1, labels[:, None], float("-inf")).amax(1)
    return F.relu(margin - (asked - best_other)).mean()


@dataclasses.dataclass(frozen=True)
class GeneratorTerms:
    """What an epoch adds to the generator's hinge loss, each term times its weight (0:
    left out): :func:`mode_seeking_penalty`, :func:`spread_shortfall` against the real
    pictures' ``spreads``, and :func:`class_hinge` on the discriminator's classifier."""

    mode_seeking: float = 0.0
    spread_floor: float = 0.0
    spreads: torch.Tensor | None = None
    class_loss: float = 0.0
    class_margin: float = 0.0

    def __call__(
        self,
        fake: torch.Tensor,
        z: torch.Tensor,
        labels: torch.Tensor,
        class_logits: torch.Tensor | None,
    ) -> torch.Tensor:
        total = fake.new_zeros(())
        if self.mode_seeking:
            total = total + self.mode_seeking * mode_seeking_penalty(fake, z, labels)
        if self.spread_floor:
            total = total + self.spread_floor * spread_shortfall(fake, labels, self.spreads)
        if class_logits is not None:  # even at weight 0: DDP wants every parameter in the graph
            total = total + self.class_loss * class_hinge(class_logits, labels, self.class_margin)
        return total


def train_gan_epoch(
    adversaries: Adversaries,
    nets: tuple[nn.Module, nn.Module],
    loader: Batches,
    latent: int,
    device: torch.device,
    desc: str,
    terms: GeneratorTerms,
) -> dict[str, float]:
    """One pass over ``loader``: per batch a discriminator step on real and generated
    pictures of the same classes (its auxiliary classifier, if it has one, learns the real
    pictures' classes), then a generator step (its hinge loss plus ``terms``). ``nets``
    are the generator and discriminator as the step calls them (under torchrun, wrapped
    for DDP). Mean losses and speed."""
    generator, discriminator = nets
    generator.train()
    sums, seen, start = {"d_loss": 0.0, "g_loss": 0.0}, 0, time.perf_counter()
    bar = tqdm(loader, desc=desc, unit="batch", leave=False, disable=not distributed.is_main())
    for real, labels in bar:
        # In label order, the discriminator's groups of four (MinibatchSpread) mostly share
        # a class, so it sees when one class's pictures are all alike.
        order = labels.argsort(stable=True)
        real, labels = real[order].to(device), labels[order].to(device)
        z = torch.randn(len(real), latent, device=device)
        fake = generator(z, labels)
        # One discriminator call on real and fake together (DDP allows one per backward).
        scores, class_logits = discriminator(
            torch.cat([real, fake.detach()]), torch.cat([labels, labels])
        )
        real_scores, fake_scores = scores.chunk(2)
        d_loss = F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
        if class_logits is not None:
            d_loss = d_loss + F.cross_entropy(class_logits[: len(real)], labels)
        adversaries.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        adversaries.d_optimizer.step()

        fake_scores, class_logits = discriminator(fake, labels)
        g_loss = -fake_scores.mean() + terms(fake, z, labels, class_logits)
        adversaries.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        adversaries.g_optimizer.step()

        sums["d_loss"] += d_loss.item() * len(real)
        sums["g_loss"] += g_loss.item() * len(real)
        seen += len(real)
        bar.set_postfix(**{k: f"{v / seen:.3f}" for k, v in sums.items()})
    seconds = time.perf_counter() - start
    return {
        **{k: v / max(seen, 1) for k, v in sums.items()},
        "seconds": seconds,
        "images_per_s": seen / seconds,
    }


@torch.no_grad()
def draw(generator: nn.Module, labels: np.ndarray, latent: int, seed: int) -> np.ndarray:
    """(N, 1, H, W) float pictures of ``labels``, the latent vectors from ``seed``."""
    generator.eval()
    z = latents(seed, len(labels), latent)
    return generator(z, torch.from_numpy(labels.astype(np.int64))).numpy()


def fit_gan(
    adversaries: Adversaries,
    train_set: TensorDataset,
    *,
    settings: GanSettings,
    cfg: Any,
    device: torch.device,
    measure: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    per_class: int,
) -> list[dict[str, Any]]:
    """The epoch loop: (resume,) train, add the generator to its average from epoch
    ``settings.average_from``, measure ``per_class`` pictures of each class of the
    generator as shipped with ``measure(pictures, labels)``, save a grid of samples, the
    checkpoint and the curves."""
    generator, latent = adversaries.generator, int(cfg.input_size[0])
    spreads = None  # the real pictures' own, read only by the spread floor
    if settings.spread_floor:
        spreads = class_spreads(*train_set.tensors, cfg.num_classes).to(device)
    history = resume_gan(settings, adversaries) if settings.resume else []
    labels = np.repeat(np.arange(cfg.num_classes), per_class)
    grid_labels = np.tile(np.arange(cfg.num_classes), 8)  # eight of each class, in columns
    nets = tuple(distributed.wrap(net, device) for net in (generator, adversaries.discriminator))
    for epoch in range(len(history) + 1, settings.epochs + 1):
        epoch_seed = settings.seed * 1000 + epoch
        seed_everything(epoch_seed)
        loader = shuffled_share(train_set, settings.batch_size, epoch_seed)
        late = epoch >= settings.terms_from
        terms = GeneratorTerms(
            mode_seeking=settings.mode_seeking if late else 0.0,
            spread_floor=settings.spread_floor if late else 0.0,
            spreads=spreads,
            class_loss=settings.class_loss if late else 0.0,
            class_margin=settings.class_margin,
        )
        desc = f"epoch {epoch}/{settings.epochs}"
        record = {
            "epoch": epoch,
            **train_gan_epoch(adversaries, nets, loader, latent, device, desc, terms),
        }
        if epoch >= settings.average_from:
            adversaries.add_to_average()
        if distributed.is_main():  # what is measured, shown and saved: the shipped generator
            shipped = adversaries.shipped
            record.update(measure(draw(shipped, labels, latent, SAMPLE_SEED + 1), labels))
            record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            history.append(record)
            save_grid(shipped, grid_labels, latent, settings.run_dir / f"samples-{epoch:03d}.png")
            save_progress(
                settings,
                model=shipped,
                cfg=cfg,
                history=history,
                optimizer=adversaries,
                scheduler=None,
            )
            log(epoch_line(record))
    distributed.barrier()
    log(f"saved {settings.checkpoint_path}")
    return history


def save_grid(generator: nn.Module, labels: np.ndarray, latent: int, path: Path) -> None:
    pictures = Generator.to_uint8(draw(generator, labels, latent, SAMPLE_SEED))
    path.parent.mkdir(parents=True, exist_ok=True)
    picture_grid(pictures, columns=len(np.unique(labels))).save(path)


def epoch_line(record: dict[str, Any]) -> str:
    return (
        f"epoch {record['epoch']}: d_loss {record['d_loss']:.3f} g_loss {record['g_loss']:.3f} "
        f"read as asked {record['conditional_accuracy']:.2%} Frechet "
        f"{record['frechet_distance']:.2f} diversity {record['diversity_min']:.2f} "
        f"({record['seconds']:.0f}s, {record['images_per_s']:.0f} img/s)"
    )


def resume_gan(settings: GanSettings, adversaries: Adversaries) -> list[dict[str, Any]]:
    """The history of the run checkpointed at ``settings.checkpoint_path``, the generator,
    discriminator and optimizers put back as they were; empty if it has none yet."""
    path = settings.checkpoint_path
    if not path.exists():
        return []
    state = load_checkpoint(path)
    check_resumable(adversaries.generator, state["model"], path, model_kwargs_flag(state))
    args = state["args"]  # what shapes the discriminator: its width, and a classifier or none
    width, class_loss = args.get("discriminator_width", "?"), args.get("class_loss", 0.0)
    shape = f"--discriminator-width {width} --class-loss {class_loss}"
    check_resumable(adversaries.discriminator, state["optimizer"]["discriminator"], path, shape)
    adversaries.generator.load_state_dict(state["model"])
    adversaries.load_state_dict(state["optimizer"])
    history = state["history"]
    if adversaries.averaged != sum(r["epoch"] >= settings.average_from for r in history):
        raise InvalidInputError(
            f"{path} averages the generator over its last {args.get('average_last', 1)} of "
            f"{args.get('epochs', '?')} epochs; these settings average from epoch "
            f"{settings.average_from} (--epochs or --average-last changed): resume with the "
            "checkpoint's, or start afresh without --resume"
        )
    log(f"resumed {path} after epoch {len(history)}")
    return history
