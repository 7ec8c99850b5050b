"""The private names of nbgrader, nbclient, nbconvert and jupyter_client that the tooling relies
on (autograder/hooks.py) are all still there, in the versions the course installs."""
from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from autograder import hooks

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("hook", [hook for hook, _, _ in hooks.HOOKS])
def test_every_hooked_name_still_exists(hook):
    try:
        hooks.resolve(hook)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{hook} is gone ({error}): the tooling relies on it (autograder/hooks.py); "
                    "adapt the code that uses it before upgrading")


def test_a_name_that_is_gone_is_an_error():
    with pytest.raises(AttributeError):
        hooks.resolve("nbclient.client:NotebookClient._no_such_hook")
    with pytest.raises(ImportError):
        hooks.resolve("nbclient.no_such_module:NotebookClient")


@pytest.mark.parametrize("package", sorted(hooks.CHECKED_WITH))
def test_the_hooks_were_checked_against_the_installed_and_pinned_versions(package):
    pinned = re.search(rf"^{package}==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    checked = hooks.CHECKED_WITH[package]
    assert pinned and pinned.group(1) == checked == version(package), (
        f"{package}: hooks checked with {checked}, pinned {pinned and pinned.group(1)}, installed "
        f"{version(package)}: check every hook of autograder/hooks.py against the new version, "
        "then update CHECKED_WITH")


def test_every_module_named_as_a_user_of_a_hook_exists():
    modules = {path.stem for path in (ROOT / "autograder").rglob("*.py")}
    assert {user for _, user, _ in hooks.HOOKS} <= modules
