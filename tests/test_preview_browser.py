"""The preview page as headless Chromium parses and draws it.

Chromium loads only file:// pages written by the test, with background networking,
component updates, sync and QUIC turned off, so it sends nothing anywhere. The page
itself forbids every network load with its Content-Security-Policy.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import textwrap
from pathlib import Path

import pytest

from bot.config import ChannelConfig, Config, Platform
from bot.digest.parser import load_digest, parse_digest
from bot.preview import render_preview

from .conftest import EXAMPLE_DIGEST
from .test_preview import REFERENCE_IDS, Node, parse_html

CHROMIUM = Path("/usr/bin/chromium")
# Hang guard for one Chromium run; a dump or a screenshot takes about 2 s on 2 cores.
CHROMIUM_TIMEOUT_SECONDS = 90
SCREENSHOT_SIZE = (1280, 2000)

_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

CONFIG = Config(
    path=Path("preview-browser.yaml"),
    locale="ko",
    channels=(
        ChannelConfig("papers-slack", Platform.SLACK, "C0123456789"),
        ChannelConfig("papers-discord", Platform.DISCORD, "123456789012345678"),
    ),
)


def find_chromium(path: Path) -> Path:
    """Return `path` if it is executable; skip the test otherwise, but fail it under CI=true."""
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"{path} not found; install the Debian package chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    return find_chromium(CHROMIUM)


def run_chromium(
    chromium: Path,
    profile: Path,
    *args: str,
    timeout_seconds: float = CHROMIUM_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run Chromium with the no-network flags; kill its whole process group on timeout."""
    command = [str(chromium), *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    # A new session makes Chromium's helper processes one group that can be killed at once.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium timed out after {timeout_seconds:g} s: {' '.join(args)}")
    if process.returncode != 0:
        pytest.fail(f"chromium exited with {process.returncode}: {stderr[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def dump_dom(chromium: Path, page: Path, tmp_path: Path) -> Node:
    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    return parse_html(result.stdout)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def write_page(tmp_path: Path, html: str) -> Path:
    path = tmp_path / "preview.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_browser_sees_all_papers_and_links(chromium: Path, tmp_path: Path):
    digest = load_digest(EXAMPLE_DIGEST)
    page = write_page(tmp_path, render_preview(digest, CONFIG))

    dom = dump_dom(chromium, page, tmp_path)
    sections = {node.attrs["id"]: node for node in dom.find_all("section", "post")}

    assert sorted(sections) == sorted(["digest-header"] + [f"paper-{n}" for n in range(1, 12)])
    for number, arxiv_id in enumerate(REFERENCE_IDS, start=1):
        hrefs = sections[f"paper-{number}"].hrefs()
        assert f"https://arxiv.org/abs/{arxiv_id}" in hrefs, number
        assert f"https://arxiv.org/pdf/{arxiv_id}" in hrefs, number
        assert f"https://www.alphaxiv.org/ko/overview/{arxiv_id}" in hrefs, number
    assert dom.find_all("html")[0].attrs["lang"] == "ko"


def test_browser_keeps_digest_markup_as_text(chromium: Path, tmp_path: Path):
    markdown = textwrap.dedent(
        """
        # 1. [<think> & <script>document.title='x'</script>](https://arxiv.org/abs/2509.17765)

        ## Method

        Tokens <Parallel>, <Path> & <Summary> structure the reasoning.
        <img src=x onerror="document.title='y'">
        """
    ).lstrip()
    digest = parse_digest(markdown, "2025-09-23-hostile.md")
    page = write_page(tmp_path, render_preview(digest, CONFIG))

    dom = dump_dom(chromium, page, tmp_path)
    tags = {node.tag for node in dom.walk()}
    text = dom.text()

    assert not tags & {"script", "think", "parallel", "path", "summary", "img"}
    assert "<think> & <script>document.title='x'</script>" in text
    assert "<Parallel>, <Path> & <Summary>" in text
    assert dom.find_all("title")[0].text().startswith("미리보기:")


def test_browser_screenshot(chromium: Path, tmp_path: Path):
    digest = load_digest(EXAMPLE_DIGEST)
    page = write_page(tmp_path, render_preview(digest, CONFIG))
    screenshot = tmp_path / "preview.png"
    width, height = SCREENSHOT_SIZE

    run_chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        f"--window-size={width},{height}",
        page.as_uri(),
    )

    assert png_size(screenshot) == SCREENSHOT_SIZE
    # A blank page compresses to a few kilobytes; the drawn preview is far larger.
    assert screenshot.stat().st_size > 50_000


def test_hang_guard_kills_stuck_browser(tmp_path: Path):
    # A stand-in browser that never exits; the guard must end it and fail the test.
    stuck = tmp_path / "stuck-browser"
    stuck.write_text("#!/bin/sh\nsleep 600 &\nwait\n", encoding="utf-8")
    stuck.chmod(0o755)

    with pytest.raises(pytest.fail.Exception, match="timed out after 1 s"):
        run_chromium(stuck, tmp_path / "profile", "about:blank", timeout_seconds=1)


def test_guard_reports_failed_exit(tmp_path: Path):
    failing = tmp_path / "failing-browser"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 3\n", encoding="utf-8")
    failing.chmod(0o755)

    with pytest.raises(pytest.fail.Exception, match="exited with 3: broken"):
        run_chromium(failing, tmp_path / "profile", "about:blank")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_browser_skips_except_in_ci(tmp_path: Path, monkeypatch, ci: str, outcome):
    monkeypatch.setenv("CI", ci)

    with pytest.raises(outcome, match="not found"):
        find_chromium(tmp_path / "no-chromium")
