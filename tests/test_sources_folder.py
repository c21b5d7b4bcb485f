"""FolderSource against the shared seed-blog posts and against folders built in tmp_path."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import SourceConfig
from bot.sources.base import SourceError, open_source
from bot.sources.folder import FolderSource, compile_title_pattern, read_front_matter_title

SHARED_DAY = dt.date(2025, 9, 23)
DAILY_PAPERS_POST = "2025-09-23-daily-papers-20250923.md"
ARXIV_POST = "2025-09-23-Arxiv.md"


def write_post(folder: Path, name: str, title: str | None, body: str = "# 1. Paper\n") -> Path:
    path = folder / name
    front_matter = "" if title is None else f"---\nlayout: post\ntitle: {title}\n---\n\n"
    path.write_text(front_matter + body, encoding="utf-8")
    return path


@pytest.fixture
def seed_blog(shared_digests: Path) -> Path:
    return shared_digests / "seed-blog"


async def test_folder_two_series_same_date_rejected(seed_blog: Path) -> None:
    source = FolderSource(seed_blog, "{date}-*.md")

    with pytest.raises(SourceError) as caught:
        await source.fetch(SHARED_DAY)

    message = str(caught.value)
    assert ARXIV_POST in message
    assert DAILY_PAPERS_POST in message
    assert "source.title_pattern" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("title_pattern", "expected_name"),
    [
        ("Daily Papers*", DAILY_PAPERS_POST),
        ("daily papers —*", DAILY_PAPERS_POST),
        ("Arxiv - *", ARXIV_POST),
        ("re:^Arxiv", ARXIV_POST),
        ("re:Daily Papers — \\d{4}-\\d{2}-\\d{2}$", DAILY_PAPERS_POST),
    ],
)
async def test_folder_title_pattern_selects_series(
    seed_blog: Path, title_pattern: str, expected_name: str
) -> None:
    source = FolderSource(seed_blog, "{date}-*.md", title_pattern)

    fetched = await source.fetch(SHARED_DAY)

    assert fetched is not None
    assert fetched.name == expected_name
    assert fetched.data == (seed_blog / expected_name).read_bytes()
    assert fetched.changed


async def test_folder_file_pattern_selects_series(seed_blog: Path) -> None:
    source = FolderSource(seed_blog, "{date}-daily-papers-{yyyymmdd}.md")

    fetched = await source.fetch(SHARED_DAY)

    assert fetched is not None
    assert fetched.name == DAILY_PAPERS_POST
    assert fetched.etag is None
    assert fetched.last_modified is not None
    assert fetched.last_modified.tzinfo is dt.UTC


async def test_folder_title_with_stray_quote_matches(seed_blog: Path) -> None:
    source = FolderSource(seed_blog, "{date}-*.md", "Daily Papers — 2025-08-29")

    fetched = await source.fetch(dt.date(2025, 8, 29))

    assert fetched is not None
    assert fetched.name == "2025-08-29-daily-papers-20250829.md"


async def test_folder_no_post_for_date_returns_none(seed_blog: Path) -> None:
    source = FolderSource(seed_blog, "{date}-*.md")

    assert await source.fetch(dt.date(2025, 9, 24)) is None


async def test_folder_other_series_only_returns_none(seed_blog: Path) -> None:
    # On 2025-09-01 only the Arxiv series was published, so the Daily Papers series
    # is "not published yet" rather than an error.
    source = FolderSource(seed_blog, "{date}-*.md", "Daily Papers*")

    assert await source.fetch(dt.date(2025, 9, 1)) is None


async def test_folder_missing_folder_raises(tmp_path: Path) -> None:
    source = FolderSource(tmp_path / "absent", "{date}-*.md")

    with pytest.raises(SourceError, match="not found"):
        await source.fetch(SHARED_DAY)


async def test_folder_path_is_file_raises(tmp_path: Path) -> None:
    file_path = write_post(tmp_path, "posts.md", "x")
    source = FolderSource(file_path, "{date}-*.md")

    with pytest.raises(SourceError, match="is not a folder"):
        await source.fetch(SHARED_DAY)


async def test_folder_subfolder_matching_pattern_ignored(tmp_path: Path) -> None:
    (tmp_path / "2025-09-23-drafts.md").mkdir()
    write_post(tmp_path, "2025-09-23-post.md", "Daily Papers — 2025-09-23")
    source = FolderSource(tmp_path, "{date}-*.md")

    fetched = await source.fetch(SHARED_DAY)

    assert fetched is not None
    assert fetched.name == "2025-09-23-post.md"


async def test_folder_pattern_is_case_sensitive(tmp_path: Path) -> None:
    write_post(tmp_path, "2025-09-23-Arxiv.md", "Arxiv - 2025-09-23")

    assert await FolderSource(tmp_path, "{date}-arxiv.md").fetch(SHARED_DAY) is None
    assert await FolderSource(tmp_path, "{date}-Arxiv.md").fetch(SHARED_DAY) is not None


async def test_folder_file_over_max_bytes_rejected(tmp_path: Path) -> None:
    path = write_post(tmp_path, "2025-09-23-post.md", "x", body="a" * 200)
    source = FolderSource(tmp_path, "{date}-*.md", max_bytes=100)

    with pytest.raises(SourceError) as caught:
        await source.fetch(SHARED_DAY)

    assert str(path) in str(caught.value)
    assert "100-byte limit" in str(caught.value)


async def test_folder_huge_sparse_file_rejected_before_read(tmp_path: Path) -> None:
    # 64 GiB sparse: reading it would take minutes, so a fast error shows the size check
    # happens before the read.
    path = tmp_path / "2025-09-23-post.md"
    with path.open("wb") as stream:
        stream.truncate(64 * 1024**3)
    source = FolderSource(tmp_path, "{date}-*.md", max_bytes=1024)

    with pytest.raises(SourceError, match="over the 1024-byte limit"):
        await source.fetch(SHARED_DAY)


async def test_folder_file_at_max_bytes_accepted(tmp_path: Path) -> None:
    path = write_post(tmp_path, "2025-09-23-post.md", "x")
    source = FolderSource(tmp_path, "{date}-*.md", max_bytes=path.stat().st_size)

    assert await source.fetch(SHARED_DAY) is not None


async def test_folder_invalid_utf8_names_file(tmp_path: Path) -> None:
    path = tmp_path / "2025-09-23-post.md"
    path.write_bytes("---\ntitle: café\n---\n".encode("latin-1"))
    source = FolderSource(tmp_path, "{date}-*.md")

    with pytest.raises(SourceError) as caught:
        await source.fetch(SHARED_DAY)

    assert str(path) in str(caught.value)
    assert "not valid UTF-8" in str(caught.value)


async def test_folder_bom_removed(tmp_path: Path) -> None:
    path = tmp_path / "2025-09-23-post.md"
    path.write_bytes(codecs.BOM_UTF8 + "---\ntitle: 논문\n---\n".encode())
    source = FolderSource(tmp_path, "{date}-*.md", "논문")

    fetched = await source.fetch(SHARED_DAY)

    assert fetched is not None
    assert fetched.data.startswith(b"---\n")
    assert fetched.text.startswith("---\ntitle: 논문")


async def test_folder_post_without_front_matter_skipped_by_title(tmp_path: Path) -> None:
    write_post(tmp_path, "2025-09-23-a.md", None, body="title: Daily Papers\n")
    write_post(tmp_path, "2025-09-23-b.md", "Daily Papers — 2025-09-23")
    source = FolderSource(tmp_path, "{date}-*.md", "Daily Papers*")

    fetched = await source.fetch(SHARED_DAY)

    assert fetched is not None
    assert fetched.name == "2025-09-23-b.md"


async def test_folder_repeat_fetch_marks_unchanged(tmp_path: Path) -> None:
    path = write_post(tmp_path, "2025-09-23-post.md", "x", body="first\n")
    source = FolderSource(tmp_path, "{date}-*.md")

    first = await source.fetch(SHARED_DAY)
    second = await source.fetch(SHARED_DAY)
    path.write_text("---\ntitle: x\n---\nsecond\n", encoding="utf-8")
    third = await source.fetch(SHARED_DAY)

    assert first is not None
    assert first.changed
    assert second is not None
    assert not second.changed
    assert second.data == first.data
    assert third is not None
    assert third.changed
    assert third.data.endswith(b"second\n")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{date}-{slug}.md", "unknown placeholder {slug}"),
        ("{date-*.md", "invalid template"),
    ],
)
async def test_folder_bad_pattern_template_raises(
    tmp_path: Path, pattern: str, message: str
) -> None:
    source = FolderSource(tmp_path, pattern)

    with pytest.raises(SourceError, match=message):
        await source.fetch(SHARED_DAY)


def test_folder_pattern_with_separator_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="path separator"):
        FolderSource(tmp_path, "_posts/{date}-*.md")


def test_folder_invalid_title_regex_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="invalid regular expression"):
        FolderSource(tmp_path, "{date}-*.md", "re:Daily (Papers")


def test_title_pattern_glob_matches_whole_title() -> None:
    matches = compile_title_pattern("Arxiv")

    assert matches("arxiv")
    assert not matches("Arxiv - 2025-09-23")


def test_title_pattern_regex_searches() -> None:
    matches = compile_title_pattern("re:Arxiv")

    assert matches("Arxiv - 2025-09-23")
    assert not matches("arxiv - 2025-09-23")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('---\ntitle: "Daily Papers — 2025-09-23"\n---\nbody\n', "Daily Papers — 2025-09-23"),
        ("---\r\ntitle: test\r\n---\r\n", "test"),
        ("---\nlayout: post\n---\n", ""),
        ("---\ntitle:\n---\n", ""),
        ("---\ntitle: a: b: [\n---\n", "a: b: ["),
        ("---\ntitle: never closed\n", None),
        ("# no front matter\n", None),
        ("", None),
    ],
)
def test_front_matter_title_cases(tmp_path: Path, content: str, expected: str | None) -> None:
    path = tmp_path / "post.md"
    path.write_bytes(content.encode())

    assert read_front_matter_title(path) == expected


def test_front_matter_title_ignores_large_body(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    # The body is not UTF-8, which shows that only the head of the file is decoded.
    path.write_bytes(b"---\ntitle: big\n---\n" + b"\xff" * (1024 * 1024))

    assert read_front_matter_title(path) == "big"


def test_open_source_folder_from_config(seed_blog: Path) -> None:
    config = SourceConfig(kind="folder", path=seed_blog, title_pattern="Daily Papers*")

    source = open_source(config, SystemClock())

    assert isinstance(source, FolderSource)
    assert source.path == seed_blog
    assert source.title_pattern == "Daily Papers*"


def test_open_source_folder_without_path_rejected() -> None:
    with pytest.raises(SourceError, match="source.path: missing"):
        open_source(SourceConfig(kind="folder", path=None), SystemClock())


def test_open_source_unknown_kind_rejected() -> None:
    with pytest.raises(SourceError, match='expected "folder" or "http"'):
        open_source(SourceConfig(kind="ftp"), SystemClock())


async def test_folder_unlistable_folder_raises(tmp_path: Path) -> None:
    # A name longer than NAME_MAX (255 bytes on Linux) fails with ENAMETOOLONG, an OSError
    # that is neither "not found" nor "not a folder", also when the tests run as root.
    source = FolderSource(tmp_path / ("x" * 300), "{date}-*.md")

    with pytest.raises(SourceError, match="cannot list"):
        await source.fetch(SHARED_DAY)
