"""`paperbot backfill`: past digests into the archive, without posting."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import textwrap
from pathlib import Path

import pytest

from bot.backfill import (
    MAX_DAYS,
    BackfillRangeError,
    backfill,
    dates_between,
    documents_in_folder,
    summary_line,
)
from bot.cli import main
from bot.sources.base import SourceError
from bot.store import Store

from .conftest import FIXTURES

DIGESTS = FIXTURES / "digests"


@pytest.fixture
async def store():
    opened = await Store.open(":memory:")
    yield opened
    await opened.close()


def write_config(tmp_path: Path, folder: Path) -> Path:
    path = tmp_path / "paperbot.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            source: {{path: {folder}, pattern: "{{date}}-*.md", title_pattern: "Daily Papers*"}}
            state_path: {tmp_path / "state.sqlite3"}
            """
        ),
        encoding="utf-8",
    )
    return path


def test_dates_between_includes_both_ends():
    days = dates_between(dt.date(2025, 9, 29), dt.date(2025, 10, 1))

    assert days == [dt.date(2025, 9, 29), dt.date(2025, 9, 30), dt.date(2025, 10, 1)]


def test_dates_between_rejects_reversed_and_huge_ranges():
    with pytest.raises(BackfillRangeError, match="--to 2025-09-01 is before --from 2025-09-02"):
        dates_between(dt.date(2025, 9, 2), dt.date(2025, 9, 1))
    with pytest.raises(BackfillRangeError, match=f"the limit is {MAX_DAYS}"):
        dates_between(dt.date(2000, 1, 1), dt.date(2025, 1, 1))


async def test_folder_backfill_saves_digests_and_skips_non_digests(store):
    out = io.StringIO()

    counts = await backfill(store, documents_in_folder(DIGESTS), out)

    # The fixtures: 08-29 (10 papers), its prototype (10), 09-03 (39), 09-10 (18),
    # 12-26 (0 papers), and the 07-01 test post, which is not a digest.
    assert counts["new"] == 5
    assert counts["papers"] == 10 + 10 + 39 + 18
    assert counts["not_a_digest"] == 1
    assert counts["failed"] == 0
    assert "skipped: " in out.getvalue()
    assert "2025-07-01-test.md" in out.getvalue()
    assert await store.latest_digest_date() == dt.date(2025, 12, 26)
    assert (await store.digest_for(dt.date(2025, 9, 3))).papers[38].number == 39


async def test_second_backfill_reports_unchanged(store):
    await backfill(store, documents_in_folder(DIGESTS), io.StringIO())

    counts = await backfill(store, documents_in_folder(DIGESTS), io.StringIO())

    assert counts["new"] == 0
    assert counts["unchanged"] == 5
    assert "unchanged 5" in summary_line(counts)


async def test_broken_file_reported_and_others_loaded(store, tmp_path):
    shutil.copy(DIGESTS / "2025-09-10-daily-papers-20250910.md", tmp_path)
    (tmp_path / "2025-09-11-daily-papers-broken.md").write_bytes(b"\x00\x01 binary")
    out = io.StringIO()

    counts = await backfill(store, documents_in_folder(tmp_path), out)

    assert counts["new"] == 1
    assert counts["failed"] == 1
    assert "failed: " in out.getvalue()
    assert "2025-09-11-daily-papers-broken.md" in out.getvalue()


async def test_missing_folder_is_a_source_error(store, tmp_path):
    with pytest.raises(SourceError, match="is not a folder"):
        await backfill(store, documents_in_folder(tmp_path / "nope"), io.StringIO())


async def test_empty_folder_is_a_source_error(store, tmp_path):
    with pytest.raises(SourceError, match="contains no \\*.md files"):
        await backfill(store, documents_in_folder(tmp_path), io.StringIO())


def test_cli_backfill_by_date_uses_the_configured_series(tmp_path, capsys, shared_digests):
    config = write_config(tmp_path, shared_digests / "seed-blog")

    code = main(["backfill", "--from", "2025-09-01", "--to", "2025-09-30", "--config", str(config)])

    output = capsys.readouterr().out
    assert code == 0
    # Daily Papers posts of September; the Arxiv series of 09-01 and 09-23 is left out.
    assert "backfill: digests loaded 8, papers 122 (new 8, changed 0, unchanged 0)" in output
    assert "Arxiv" not in output


def test_cli_backfill_folder_exit_code_1_on_failure(tmp_path, capsys):
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "2025-09-11-daily-papers-broken.md").write_bytes(b"\xff\xfe not utf-8")
    config = write_config(tmp_path, folder)

    code = main(["backfill", "--folder", str(folder), "--config", str(config)])

    assert code == 1
    assert "failed 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2025-09-01"], "backfill --from needs --to"),
        (["--from", "2025-09-02", "--to", "2025-09-01"], "is before --from"),
    ],
)
def test_cli_backfill_bad_range_exits_2(tmp_path, capsys, args, expected):
    config = write_config(tmp_path, tmp_path)

    code = main(["backfill", *args, "--config", str(config)])

    assert code == 2
    assert expected in capsys.readouterr().err
