"""Every public seed-blog post parses to exactly the papers a reader counts in it.

The expected ids were read off each file's paper headings by hand, not produced by the parser.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.digest.errors import NotADigestError
from bot.digest.model import DateSource, LinkKind
from bot.digest.parser import load_digest

SEED_BLOG_IDS: dict[str, list[str]] = {
    "2025-08-29-daily-papers-20250829.md": [
        "2508.20751",
        "2508.20722",
        "2508.18966",
        "2508.20404",
        "2508.20374",
        "2508.21058",
        "2508.20453",
        "2508.21046",
        "2508.21061",
        "2508.21070",
    ],
    "2025-09-01-Arxiv.md": [
        "2508.21824",
        "2508.21815",
        "2508.21809",
        "2508.21800",
        "2508.21793",
        "2508.21732",
        "2508.21712",
        "2508.21675",
        "2508.21581",
        "2508.21580",
        "2508.21570",
        "2508.21556",
        "2508.21542",
        "2508.21496",
        "2508.21475",
        "2508.21468",
        "2508.21451",
        "2508.21435",
        "2508.21430",
    ],
    "2025-09-02-daily-papers-20250902.md": [
        "2508.21104",
        "2508.19813",
        "2508.20931",
        "2508.19060",
        "2508.17378",
        "2508.17198",
        "2508.19562",
    ],
    "2025-09-03-daily-papers-20250903.md": [
        "2509.02547",
        "2509.02544",
        "2509.02479",
        "2509.00676",
        "2508.21496",
        "2509.01055",
        "2509.01215",
        "2509.02208",
        "2509.01563",
        "2509.01363",
        "2509.02522",
        "2509.02534",
        "2509.00605",
        "2509.02563",
        "2509.02460",
        "2509.02333",
        "2509.01644",
        "2509.01440",
        "2509.02040",
        "2509.01052",
        "2509.01360",
        "2509.00425",
        "2509.02046",
        "2509.00244",
        "2509.01984",
        "2508.21038",
        "2509.02133",
        "2509.01584",
        "2509.00581",
        "2509.00531",
        "2509.00404",
        "2508.21334",
        "2509.02523",
        "2509.02379",
        "2509.01790",
        "2509.01610",
        "2509.01250",
        "2509.00578",
        "2508.20586",
    ],
    "2025-09-09-daily-papers-20250909.md": [
        "2509.06160",
        "2509.06501",
        "2509.06949",
        "2509.06467",
        "2509.01656",
        "2509.06733",
        "2509.06461",
        "2509.06155",
        "2509.06917",
        "2509.02108",
        "2509.03516",
        "2509.06945",
        "2509.06631",
        "2509.06493",
        "2509.06861",
        "2509.06786",
        "2509.06771",
        "2509.05668",
        "2509.06477",
        "2509.06283",
        "2509.00328",
        "2509.06809",
        "2509.06285",
        "2509.04582",
        "2509.03740",
    ],
    "2025-09-10-daily-papers-20250910.md": [
        "2509.07980",
        "2509.07979",
        "2509.07969",
        "2509.07295",
        "2509.06818",
        "2509.06951",
        "2509.07414",
        "2509.06923",
        "2509.06830",
        "2509.03646",
        "2509.07301",
        "2509.08721",
        "2509.07968",
        "2509.06942",
        "2509.01624",
        "2509.07558",
        "2509.07253",
        "2509.06938",
    ],
    "2025-09-13-daily-papers-20250913.md": ["2509.08519", "2509.08031", "2509.06888", "2509.09114"],
    "2025-09-16-daily-papers-20250916.md": ["2509.09672", "2509.07403"],
    "2025-09-23-Arxiv.md": [
        "2509.18096",
        "2509.18094",
        "2509.18092",
        "2509.18085",
        "2509.18076",
        "2509.18060",
        "2509.18057",
        "2509.18041",
        "2509.18030",
        "2509.17995",
    ],
    "2025-09-23-daily-papers-20250923.md": [
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
    ],
    "2025-09-30-daily-papers-20250930.md": [
        "2509.24006",
        "2509.22220",
        "2509.24014",
        "2509.25191",
        "2509.24663",
        "2509.23050",
        "2509.21875",
        "2509.25149",
        "2509.24335",
        "2509.22570",
        "2509.22518",
        "2509.24592",
        "2509.18582",
        "2509.24988",
        "2509.22991",
        "2509.16538",
    ],
    "2025-10-03-daily-papers-20251003.md": [
        "2510.00446",
        "2510.01149",
        "2510.01284",
        "2510.02253",
        "2510.02295",
        "2509.21789",
        "2510.02315",
        "2510.01817",
        "2510.01796",
        "2510.00523",
        "2510.00537",
        "2509.22582",
        "2509.26330",
    ],
    "2025-10-15-daily-papers-20251015.md": [
        "2510.09116",
        "2510.12586",
        "2510.11693",
        "2510.12747",
        "2510.12773",
        "2510.01171",
        "2510.12709",
        "2510.11000",
        "2510.08783",
        "2510.12402",
        "2510.12793",
        "2510.11570",
        "2510.11330",
        "2510.09263",
        "2510.08532",
        "2510.08666",
    ],
    "2025-11-05-daily-papers-20251105.md": ["2511.02650"],
    "2025-12-01-daily-papers-20251201.md": [
        "2511.23199",
        "2511.18822",
        "2511.22475",
        "2511.22677",
        "2511.22173",
        "2511.22787",
        "2511.22281",
        "2511.18890",
        "2511.22688",
        "2511.20809",
        "2511.22533",
        "2511.13276",
    ],
    "2025-12-19-daily-papers-20251219.md": [
        "2512.16915",
        "2512.16923",
        "2512.16625",
        "2512.16636",
        "2512.16920",
        "2512.16378",
        "2512.16106",
        "2512.16767",
        "2512.16670",
        "2512.16615",
        "2512.14884",
        "2512.10953",
        "2512.14805",
    ],
    "2025-12-25-daily-papers-20251225.md": ["2512.21334", "2512.21227"],
    "2025-12-26-daily-papers-20251226.md": [],
}

HISTORY_IDS: dict[str, list[str]] = {
    # The prototype lists OnGoal (8) before CogVLA (9); the later posts swap them.
    "2025-08-29-daily-papers.prototype.md": [
        "2508.20751",
        "2508.20722",
        "2508.18966",
        "2508.20404",
        "2508.20374",
        "2508.21058",
        "2508.20453",
        "2508.21061",
        "2508.21046",
        "2508.21070",
    ],
    "2025-08-29-daily-papers_20250829.partial-sections.md": [
        "2508.20751",
        "2508.20722",
        "2508.18966",
        "2508.20404",
        "2508.20374",
        "2508.21058",
        "2508.20453",
        "2508.21046",
        "2508.21061",
        "2508.21070",
    ],
    "2025-09-23-daily-papers-20250923.raw.md": SEED_BLOG_IDS["2025-09-23-daily-papers-20250923.md"],
}

EXPECTED_COUNTS = {
    "2025-08-29-daily-papers-20250829.md": 10,
    "2025-09-01-Arxiv.md": 19,
    "2025-09-02-daily-papers-20250902.md": 7,
    "2025-09-03-daily-papers-20250903.md": 39,
    "2025-09-09-daily-papers-20250909.md": 25,
    "2025-09-10-daily-papers-20250910.md": 18,
    "2025-09-13-daily-papers-20250913.md": 4,
    "2025-09-16-daily-papers-20250916.md": 2,
    "2025-09-23-Arxiv.md": 10,
    "2025-09-23-daily-papers-20250923.md": 11,
    "2025-09-30-daily-papers-20250930.md": 16,
    "2025-10-03-daily-papers-20251003.md": 13,
    "2025-10-15-daily-papers-20251015.md": 16,
    "2025-11-05-daily-papers-20251105.md": 1,
    "2025-12-01-daily-papers-20251201.md": 12,
    "2025-12-19-daily-papers-20251219.md": 13,
    "2025-12-25-daily-papers-20251225.md": 2,
    "2025-12-26-daily-papers-20251226.md": 0,
    "2025-08-29-daily-papers.prototype.md": 10,
    "2025-08-29-daily-papers_20250829.partial-sections.md": 10,
    "2025-09-23-daily-papers-20250923.raw.md": 11,
}

# The two "Arxiv - ..." series posts link http://arxiv.org/abs/<id>v1.
VERSIONED_FILES = {"2025-09-01-Arxiv.md", "2025-09-23-Arxiv.md"}


def _folder_of(name: str) -> str:
    return "seed-blog" if name in SEED_BLOG_IDS else "seed-blog-history"


ALL_IDS = {**SEED_BLOG_IDS, **HISTORY_IDS}


def test_corpus_table_covers_every_file(shared_digests: Path) -> None:
    on_disk = {
        path.name
        for folder in ("seed-blog", "seed-blog-history")
        for path in (shared_digests / folder).glob("*.md")
    }
    assert on_disk - set(ALL_IDS) == {"2025-07-01-test.md"}
    assert set(ALL_IDS) - on_disk == set()


@pytest.mark.parametrize("name", sorted(ALL_IDS))
def test_corpus_paper_ids_in_order(shared_digests: Path, name: str) -> None:
    digest = load_digest(shared_digests / _folder_of(name) / name)

    assert len(digest.papers) == EXPECTED_COUNTS[name]
    assert [paper.arxiv_id for paper in digest.papers] == ALL_IDS[name]
    assert [paper.number for paper in digest.papers] == list(range(1, len(digest.papers) + 1))


@pytest.mark.parametrize("name", sorted(ALL_IDS))
def test_corpus_date_and_source(shared_digests: Path, name: str) -> None:
    path = shared_digests / _folder_of(name) / name
    digest = load_digest(path)

    assert digest.date == dt.date.fromisoformat(name[:10])
    assert digest.date_source is DateSource.FRONT_MATTER
    assert digest.source == str(path)


@pytest.mark.parametrize("name", sorted(ALL_IDS))
def test_corpus_papers_have_title_links_sections(shared_digests: Path, name: str) -> None:
    digest = load_digest(shared_digests / _folder_of(name) / name)
    expected_version = 1 if name in VERSIONED_FILES else None

    for paper in digest.papers:
        assert paper.title
        assert "  " not in paper.title
        assert paper.arxiv_version == expected_version
        assert paper.link(LinkKind.ABS) == paper.abs_url
        assert paper.abs_url.startswith(f"https://arxiv.org/abs/{paper.arxiv_id}")
        assert paper.pdf_url.startswith(f"https://arxiv.org/pdf/{paper.arxiv_id}")
        assert [section.heading for section in paper.sections][:2] == ["Introduction", "Method"]


def test_corpus_alphaxiv_only_where_linked(shared_digests: Path) -> None:
    with_line = load_digest(shared_digests / "seed-blog" / "2025-12-19-daily-papers-20251219.md")
    without_line = load_digest(shared_digests / "seed-blog" / "2025-09-23-Arxiv.md")

    for paper in with_line.papers:
        expected = f"https://www.alphaxiv.org/ko/overview/{paper.arxiv_id}"
        assert paper.link(LinkKind.ALPHAXIV) == expected
    for paper in without_line.papers:
        assert paper.link(LinkKind.ALPHAXIV) is None
        assert paper.link(LinkKind.HUGGINGFACE) is None


def test_corpus_test_post_is_not_a_digest(shared_digests: Path) -> None:
    with pytest.raises(NotADigestError, match="not a digest"):
        load_digest(shared_digests / "seed-blog" / "2025-07-01-test.md")


# Other sites' digests need not parse. Those that the general numbered-heading layout reads
# give these counts, checked against each file's own totals and its numbered paper headings.
# The rest must raise NotADigestError and no other exception.
OTHER_DIALECT_COUNTS = {
    "2025-01-22_daily_paper.md": 13,  # "总论文数：13"
    "daily-arxiv-ai-enhanced-2026-06-25.md": 26,  # table of contents: 4 + 7 + 3 + 1 + 11
    "dailyir-2025-09-23.md": 50,  # `### 1.` to `### 50.`
}
OTHER_DIALECT_FIRST_IDS = {
    "2025-01-22_daily_paper.md": "2501.12380",
    "daily-arxiv-ai-enhanced-2026-06-25.md": "2606.25041",
    "dailyir-2025-09-23.md": "2509.18091",
}


# The one case collected when the corpus has no other-dialect digests. An empty parameter set
# would be skipped even under CI=true, while this case reaches the `shared_digests` fixture,
# which skips it (or fails it in CI) with the corpus reason.
_NO_OTHER_DIALECTS = "no-other-dialect-digests"


def _other_dialect_files() -> list[str]:
    from tests.conftest import shared_dir

    folder = shared_dir() / "digests" / "other-dialects"
    names = sorted(path.name for path in folder.glob("*.md")) if folder.is_dir() else []
    return names or [_NO_OTHER_DIALECTS]


@pytest.mark.parametrize("name", _other_dialect_files())
def test_other_dialects_parse_or_reject(shared_digests: Path, name: str) -> None:
    path = shared_digests / "other-dialects" / name
    if name == _NO_OTHER_DIALECTS:
        pytest.fail(f"no *.md digests in {path.parent}; the shared corpus is incomplete")
    if name not in OTHER_DIALECT_COUNTS:
        with pytest.raises(NotADigestError):
            load_digest(path)
        return

    digest = load_digest(path)

    assert len(digest.papers) == OTHER_DIALECT_COUNTS[name]
    assert digest.papers[0].arxiv_id == OTHER_DIALECT_FIRST_IDS[name]
    assert all(paper.title for paper in digest.papers)
