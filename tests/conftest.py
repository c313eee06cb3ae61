"""Fixtures shared by every test folder."""
import pytest

from support import MINI_DEFAULTS, Kargo, write

@pytest.fixture
def kargo(tmp_path):
    """An isolated root with small defaults and an empty workspace."""
    root = tmp_path / "root"
    for rel, text in MINI_DEFAULTS.items():
        write(root / "defaults" / rel, text)
    (root / "images").mkdir()
    workspace = tmp_path / "workspace"
    write(workspace / ".env", "# the operator's settings\n")
    return Kargo(root, workspace)
