"""Shared fixtures: where the public digest corpus lives, and the bundled fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixtures that start the fake Slack and Discord servers, available to every test module.
pytest_plugins = ["tests.fakes.fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
EXAMPLE_DIGEST = REPO_ROOT / "examples" / "digests" / "2025-09-23-daily-papers-20250923.md"

# The arXiv ids of the example digest's 11 papers, in order, as a reader finds them.
REFERENCE_IDS = [
    "2509.17765",
    "2509.18091",
    "2509.17396",
    "2509.17985",
    "2509.17671",
    "2509.17428",
    "2509.15709",
    "2509.15248",
    "2509.17786",
    "2509.14856",
    "2509.09873",
]


def shared_dir() -> Path:
    """Return the public digest corpus: $PAPERBOT_SHARED_DIR, else `shared/` beside the repo."""
    configured = os.environ.get("PAPERBOT_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_digests() -> Path:
    """The `digests/` folder of the shared corpus; skips outside CI when it is absent.

    In CI (CI=true) a missing corpus fails the test instead, so corpus tests always run there.
    """
    digests = shared_dir() / "digests"
    if digests.is_dir():
        return digests
    reason = f"shared digest corpus not found at {digests}; set PAPERBOT_SHARED_DIR"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
