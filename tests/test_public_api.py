"""The public surface: what ``__all__`` promises exists, and nothing private leaks into it."""

from __future__ import annotations

import importlib
import re

import pytest


@pytest.mark.parametrize("module", ["ppnb", "ppnb.client", "ppnb.emulator", "ppnb.frames",
                                    "ppnb.money", "ppnb.pager", "ppnb.snapshot",
                                    "ppnb.analysis", "ppnb.webhooks", "ppnb.actions",
                                    "ppnb.widgets", "ppnb.reports", "ppnb.plots",
                                    "ppnb.limits", "ppnb.totals", "ppnb.seed", "ppnb.lab",
                                    "ppnb.display", "ppnb.dashboard", "ppnb.partners",
                                    "ppnb.dunning", "ppnb.connection"])
def test_all_names_exist_and_are_public(module: str) -> None:
    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__), "a name is listed twice"
    for name in mod.__all__:
        assert not name.startswith("_") or name == "__version__"
        assert hasattr(mod, name), f"{module}.{name} is in __all__ but missing"


def test_credentials_repr_hides_the_secret() -> None:
    from ppnb.emulator import Credentials

    cred = Credentials("client", "s3cr3t-value")
    assert "s3cr3t" not in repr(cred) and "s3cr3t" not in str(cred)
    assert "client" in repr(cred)


def test_dir_of_ppnb_is_its_public_names_and_they_all_resolve() -> None:
    import ppnb

    dunders = {"__all__", "__doc__", "__file__", "__name__", "__path__", "__spec__"}
    assert dir(ppnb) == sorted(set(ppnb.__all__) | dunders)
    assert not {"Any", "annotations", "importlib"} & set(dir(ppnb))
    for name in ppnb.__all__:
        assert getattr(ppnb, name) is not None, name
    assert ppnb.fetch_tables is importlib.import_module("ppnb.pager").fetch_tables


def test_version_is_the_installed_distributions() -> None:
    from importlib import metadata

    import ppnb

    assert ppnb.__version__ == metadata.version("ppnb")


def _drawn_tree() -> list[tuple[int, str]]:
    """The (depth, qualified name) of each class in PPNBError's docstring tree."""
    from ppnb import PPNBError

    tree = []
    for line in (PPNBError.__doc__ or "").splitlines():
        found = re.match(r"^\s*((?:│   |    )*)[├└]── (ppnb\.[\w.]+)", line)
        if found:
            tree.append((len(found.group(1)) // 4 + 1, found.group(2)))
    return tree


def _resolve(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_exception_tree_drawn_in_ppnberror_is_true() -> None:
    from ppnb import PPNBError

    tree = _drawn_tree()
    assert len(tree) >= 12
    parents: dict[int, type] = {0: PPNBError}
    for depth, qualified in tree:
        kind = _resolve(qualified)
        assert issubclass(kind, parents[depth - 1]), (qualified, parents[depth - 1])
        parents[depth] = kind


@pytest.mark.parametrize("module", ["ppnb.client", "ppnb.pager", "ppnb.actions", "ppnb.dunning",
                                    "ppnb.widgets._numbers", "ppnb.money", "ppnb.totals",
                                    "ppnb.webhooks", "ppnb.seed", "ppnb.analysis", "ppnb.reports",
                                    "ppnb._extras", "ppnb.partners._task",
                                    "ppnb.emulator._clock", "ppnb.emulator._errors",
                                    "ppnb.emulator._snapshots", "ppnb.cli._common"])
def test_every_exception_of_these_modules_is_a_ppnberror_and_in_the_tree(module: str) -> None:
    from ppnb import PPNBError

    drawn = {_resolve(qualified) for _, qualified in _drawn_tree()}
    mod = importlib.import_module(module)
    mine = {value for value in vars(mod).values()
            if isinstance(value, type) and issubclass(value, BaseException)
            and value.__module__.startswith(module.split("._")[0])}
    assert mine
    for kind in mine:
        assert issubclass(kind, PPNBError), kind
        assert kind in drawn or kind is PPNBError, kind
