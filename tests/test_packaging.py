"""`pip install .` installs the whole library: the wheel holds every file of nnlib/ and autograder/
(subpackages such as nnlib.optim included), and every nnlib module imports from a fresh
environment that has only the wheel and the course's dependencies.

The wheel is built offline from a copy of the sources in a temporary folder, so that the build's
own files (build/, *.egg-info) never land in the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nnlib", "autograder")
SOURCES = ("pyproject.toml", "README.md", *PACKAGES)


def source_files() -> set[str]:
    """Every file of the packages in the repository, as paths like 'nnlib/optim/sgd.py', caches left out."""
    return {path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


def nnlib_modules() -> list[str]:
    """Every module of nnlib in the repository, e.g. 'nnlib', 'nnlib.optim', 'nnlib.optim.sgd'."""
    names = []
    for path in sorted((ROOT / "nnlib").rglob("*.py")):
        if "__pycache__" not in path.parts:
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def repository_top() -> dict[str, int]:
    """What a build in place would write: build/, dist/ and the files of nnlib.egg-info (which the editable
    install wrote), with their times of change."""
    entries = {name: (ROOT / name).stat().st_mtime_ns for name in ("build", "dist") if (ROOT / name).exists()}
    if (ROOT / "nnlib.egg-info").is_dir():
        entries.update({f"nnlib.egg-info/{path.name}": path.stat().st_mtime_ns
                        for path in (ROOT / "nnlib.egg-info").iterdir()})
    return entries


BEFORE_THE_BUILD: dict[str, int] = {}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds, offline, from a copy of the sources."""
    BEFORE_THE_BUILD.update(repository_top())
    folder = tmp_path_factory.mktemp("packaging")
    source = folder / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "--quiet", "--wheel-dir", str(folder / "dist")],
                   cwd=source, check=True, capture_output=True, text=True)
    (built,) = (folder / "dist").glob("nnlib-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = {name for name in archive.namelist() if ".dist-info/" not in name}
    expected = source_files()
    assert "nnlib/optim/__init__.py" in expected  # (the subpackage a hand-written list once left out)
    assert names - expected == set(), f"the wheel holds files the sources do not: {sorted(names - expected)}"
    assert expected - names == set(), f"the wheel lacks: {sorted(expected - names)}"


def test_every_nnlib_module_imports_from_the_installed_wheel(wheel, tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--quiet", str(wheel)], check=True, capture_output=True, text=True)
    installed = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                    check=True, capture_output=True, text=True).stdout.strip())
    # The course's dependencies (numpy, matplotlib, ...) from this environment, by a plain path line: the .pth
    # files there, among them the one that puts the repository on sys.path, are not read from such a line.
    (installed / "course_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    modules = nnlib_modules()
    script = ("import importlib, pathlib, sys\n"
              f"for name in {modules!r}:\n"
              "    module = importlib.import_module(name)\n"
              f"    assert pathlib.Path(module.__file__).is_relative_to({str(installed)!r}), module.__file__\n"
              "print(len(sys.modules))\n")
    environment_variables = {key: value for key, value in os.environ.items()
                             if key not in ("PYTHONPATH", "NNLIB_FIRST", "PYTHONHOME")}
    result = subprocess.run([str(python), "-c", script], cwd=tmp_path, env=environment_variables,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"importing nnlib's modules from the wheel failed:\n{result.stderr}"
    assert len(modules) > 10


def test_building_leaves_the_repository_as_it_was(wheel):
    after = repository_top()
    changed = sorted(name for name in BEFORE_THE_BUILD.keys() | after.keys()
                     if BEFORE_THE_BUILD.get(name) != after.get(name))
    assert changed == [], f"building the wheel wrote into the repository: {changed}"
