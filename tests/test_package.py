"""The distribution: it imports, ships py.typed, and depends on gevent and zope.interface only."""

from __future__ import annotations

import configparser
import importlib
import importlib.metadata
import importlib.resources
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself requires tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DEPS = {"gevent", "zope-interface"}
# The index name: "gnet" on PyPI is an unrelated project; the import name stays gnet.
DISTRIBUTION = "gnet-node"


def _base_requirements(lines: list[str]) -> list[Requirement]:
    """The requirements that apply without any extra."""
    reqs = [Requirement(line) for line in lines]
    return [r for r in reqs if r.marker is None or "extra" not in str(r.marker)]


def _key(req: Requirement) -> tuple[str, str, str]:
    return canonicalize_name(req.name), str(req.specifier), str(req.marker or "")


def _pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_distribution_name_is_ours_and_imports_as_gnet() -> None:
    assert _pyproject()["project"]["name"] == DISTRIBUTION
    dist = importlib.metadata.distribution(DISTRIBUTION)
    assert "gnet/__init__.py" in {str(f) for f in dist.files or ()} or \
        dist.read_text("direct_url.json") is not None


def test_imports() -> None:
    gnet = importlib.import_module("gnet")
    assert gnet.__name__ == "gnet"


def test_py_typed_is_installed() -> None:
    assert importlib.resources.files("gnet").joinpath("py.typed").is_file()


def test_installed_runtime_deps_are_gevent_and_zope_interface() -> None:
    reqs = _base_requirements(importlib.metadata.requires(DISTRIBUTION) or [])
    assert {canonicalize_name(r.name) for r in reqs} == RUNTIME_DEPS
    for r in reqs:
        assert any(s.operator == ">=" for s in r.specifier), f"{r} has no lower bound"


def test_pyproject_runtime_deps_match_installed_metadata() -> None:
    declared = _pyproject()["project"]["dependencies"]
    installed = _base_requirements(importlib.metadata.requires(DISTRIBUTION) or [])
    assert sorted(_key(Requirement(d)) for d in declared) == sorted(_key(r) for r in installed)


def test_floor_env_pins_the_lower_bounds() -> None:
    # The lower bounds in pyproject.toml are only true if tox's floor env
    # installs exactly those versions.
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    pins = {}
    for line in tox["testenv:floor"]["deps"].split():
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "=="
        pins[canonicalize_name(req.name)] = spec.version
    bounds = {}
    for req in _base_requirements(importlib.metadata.requires(DISTRIBUTION) or []):
        (spec,) = (s for s in req.specifier if s.operator == ">=")
        bounds[canonicalize_name(req.name)] = spec.version
    assert pins == bounds


def test_wheel_ships_py_typed_and_declares_only_runtime_deps(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    (wheel,) = tmp_path.glob("gnet_node-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata_name,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(metadata_name).decode()
    assert "gnet/py.typed" in names
    assert "gnet/__init__.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert {canonicalize_name(r.name) for r in _base_requirements(requires)} == RUNTIME_DEPS
