"""The house's rule, that serving never needs torch, holds for the whole tree: the
import-linter contracts in pyproject.toml pass, and they cover every module there is."""

from __future__ import annotations

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter brings tomli
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "visionplay"
TORCH_SIDE = {"visionplay.train", "visionplay.models", "visionplay.tutorials"}


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_hold():
    from importlinter.cli import lint_imports

    config = str(ROOT / "pyproject.toml")
    assert lint_imports(config_filename=config, no_cache=True, no_logo=True) == 0


def test_every_module_is_on_one_side_of_the_contract():
    serving = set(contracts()[0]["source_modules"])
    top_level = {f"visionplay.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    packages = {f"visionplay.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert top_level <= serving, f"not under the contract: {sorted(top_level - serving)}"
    unplaced = packages - serving - TORCH_SIDE
    assert not unplaced, f"on neither side: {sorted(unplaced)}"
    assert not serving & TORCH_SIDE


def test_the_torch_side_is_forbidden_to_serving():
    forbidden = set(contracts()[0]["forbidden_modules"])
    assert {"torch", "torchvision", *TORCH_SIDE} <= forbidden
