"""The public surface: what ``__all__`` promises exists, and nothing private leaks into it."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("module", ["ppnb", "ppnb.client", "ppnb.emulator", "ppnb.frames",
                                    "ppnb.money", "ppnb.pager", "ppnb.snapshot",
                                    "ppnb.analysis", "ppnb.webhooks", "ppnb.actions",
                                    "ppnb.widgets", "ppnb.reports", "ppnb.plots",
                                    "ppnb.limits", "ppnb.totals", "ppnb.seed", "ppnb.lab",
                                    "ppnb.display", "ppnb.dashboard", "ppnb.partners",
                                    "ppnb.dunning"])
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
