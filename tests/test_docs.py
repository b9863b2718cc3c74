"""The docs: their generated figures match where the figures are measured, every link
lands, and the README stays a front door.

The figures in README.md, BENCHMARKS.md and docs/ come from exported/manifest.json and
docs/bench-summary.json through docs/figures.py; a source changed without running it (or
a generated figure edited by hand) fails here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TASK_CLASSES = ("Classifier", "KeypointModel", "ForecastModel", "Reconstructor", "Generator")


def load_figures():
    spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


figures = load_figures()


def markdown_files() -> list[Path]:
    return list(figures.documents(ROOT))


def test_generated_figures_match_the_manifest_and_the_bench_summary():
    stale = figures.drift(ROOT)
    assert not stale, (
        "generated blocks differ from their sources (run `python docs/figures.py`): "
        + "; ".join(stale)
    )


@pytest.fixture
def copy_of_the_docs(tmp_path) -> Path:
    """README, BENCHMARKS, docs/ and the figures' sources, copied: free to spoil."""
    for name in ("README.md", "BENCHMARKS.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("*.png"))
    for source in (figures.MANIFEST, figures.PERMUTE):
        target = tmp_path / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    assert figures.drift(tmp_path) == []
    return tmp_path


def test_a_figure_edited_by_hand_is_drift(copy_of_the_docs):
    readme = copy_of_the_docs / "README.md"
    accuracy = figures.pct(figures.Sources(ROOT).model("mnist")["eval"]["accuracy"])
    text = readme.read_text()
    assert accuracy in text
    readme.write_text(text.replace(accuracy, "99.99 %", 1))
    assert figures.drift(copy_of_the_docs) == ["README.md: block models"]


def test_a_changed_source_without_regenerating_is_drift(copy_of_the_docs):
    manifest_path = copy_of_the_docs / "exported" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"]["cifar10"]["eval"]["accuracy"] = 0.93
    manifest_path.write_text(json.dumps(manifest))
    summary_path = copy_of_the_docs / "docs" / "bench-summary.json"
    summary = json.loads(summary_path.read_text())
    summary["date"] = "2031-01-01T00:00:00+00:00"
    summary_path.write_text(json.dumps(summary))
    stale = figures.drift(copy_of_the_docs)
    assert "README.md: block models" in stale and "README.md: block bench" in stale
    assert "docs/models/cifar10.md: block measured cifar10" in stale
    assert "BENCHMARKS.md: block bench-last" in stale
    # Writing them anew is what mends it.
    src = figures.Sources(copy_of_the_docs)
    for path in figures.documents(copy_of_the_docs):
        path.write_text(figures.render(path.read_text(), src))
    assert figures.drift(copy_of_the_docs) == []
    assert "93.00 % right on the CIFAR-10 test set" in (copy_of_the_docs / "README.md").read_text()


def test_every_shipped_model_has_a_card_with_its_figures():
    manifest = json.loads(figures.MANIFEST.read_text())["models"]
    readme = (ROOT / "README.md").read_text()
    for name in manifest:
        card = ROOT / "docs" / "models" / f"{name}.md"
        assert card.is_file(), f"no card for {name}"
        blocks = {(block, arg) for block, arg, _ in figures.blocks(card.read_text())}
        assert {("measured", name), ("training", name), ("speed", name)} <= blocks, name
        assert f"(docs/models/{name}.md)" in readme


def test_the_summary_the_docs_quote_names_its_run():
    summary = json.loads(figures.SUMMARY.read_text())
    assert summary["date"] and summary["command"].startswith("visionplay bench")
    assert summary["machine"]["cpus"] and summary["versions"]["onnxruntime"]
    for row in summary["models"].values():
        assert row["ratio"] == pytest.approx(row["torch_p50_ms"] / row["onnxruntime_p50_ms"], 0.05)


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_every_link_in_the_docs_lands():
    broken = []
    for path in markdown_files():
        for target in LINK.findall(FENCE.sub("", path.read_text())):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            landing = (path.parent / file).resolve() if file else path
            where = f"{path.relative_to(ROOT)} -> {target}"
            if not landing.exists():
                broken.append(where)
            elif anchor and landing.suffix == ".md" and anchor not in anchors(landing):
                broken.append(f"{where} (no such heading)")
    assert not broken, broken


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    lines = text.count("\n")
    assert lines <= 160, f"README.md has {lines} lines; move the detail to docs/"
    for command in ("pip install -r requirements.txt", "visionplay serve", "pytest"):
        assert f"\n{command} " in text, command  # the three commands .ci/run follows
    named = [name for name in TASK_CLASSES if re.search(rf"\b{name}\b", text)]
    assert named in ([], list(TASK_CLASSES)), f"the README names some task classes: {named}"
