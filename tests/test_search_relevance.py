"""Search relevance on the real seed-blog posts: Korean, English, mixed and id queries.

Each expectation was taken from the post text (which papers contain the query words),
not from the search's own output. `exact` cases list every paper whose title or
summary contains all query words, so they also catch results that should not be there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.digest.errors import NotADigestError
from bot.digest.parser import load_digest
from bot.search import normalize
from bot.store import Store


@dataclass(frozen=True)
class Case:
    query: str
    expected: frozenset[str]
    first: str | None = None
    exact: bool = False
    limit: int = 10


def case(query: str, *ids: str, first: str | None = None, exact: bool = False, limit: int = 10):
    return Case(query, frozenset(ids), first, exact, limit)


CASES = [
    # English title words and names: the paper with that title ranks first.
    case("Qwen3-Omni", "2509.17765", first="2509.17765"),
    case("EpiCache", "2509.17396", first="2509.17396"),
    case("OnePiece", "2509.18091", first="2509.18091"),
    case("SimpleTIR", "2509.02479", first="2509.02479"),
    case("mmBERT", "2509.06888", first="2509.06888"),
    case("Cautious Weight Decay", "2510.12402", first="2510.12402"),
    case("DriveQA", "2508.21824", first="2508.21824"),
    case("LongCodeZip", "2510.00446", first="2510.00446"),
    case("ELV-Halluc", "2508.21496", first="2508.21496"),
    case("Nemotron-Flash", "2511.18890", first="2511.18890"),
    case("speculative decoding", "2509.18085", first="2509.18085"),
    case("LiDAR", "2509.06285", first="2509.06285"),
    case("ΔL", "2509.07558", first="2509.07558"),
    case(
        "hallucination",
        "2509.17671",
        "2509.21875",
        "2508.21496",
        "2509.06938",
        "2509.21789",
        "2509.22582",
    ),
    # The six papers with both words in the title outrank papers with them in the text.
    case(
        "sparse attention",
        "2509.24006",
        "2509.24014",
        "2509.24663",
        "2510.02295",
        "2510.01817",
        "2512.16615",
        limit=6,
        exact=True,
    ),
    # arXiv ids, with and without a version.
    case("2509.17765", "2509.17765", first="2509.17765"),
    case("2508.21824v1", "2508.21824", first="2508.21824"),
    case("hep-th/9901001 2509.18091", "2509.18091", first="2509.18091"),
    # Korean words that the posts write with a particle attached.
    case(
        "추론을",
        "2508.20722",
        "2508.21556",
        "2508.17198",
        "2509.02544",
        "2509.01363",
        "2509.03516",
        "2509.07980",
        "2509.03646",
        "2509.18094",
        "2509.18091",
        "2510.12773",
        "2510.08666",
        exact=True,
        limit=20,
    ),
    case(
        "추론과",
        "2508.21824",
        "2508.21475",
        "2509.02563",
        "2509.02040",
        "2509.06501",
        "2509.06945",
        "2509.07295",
        "2509.18076",
        "2509.18041",
        exact=True,
        limit=20,
    ),
    case(
        "캐시",
        "2508.20586",
        "2509.06493",
        "2509.17396",
        "2510.08666",
        "2511.22533",
        exact=True,
    ),
    case(
        "환각",
        "2508.21496",
        "2509.01610",
        "2509.06861",
        "2509.06938",
        "2509.17671",
        "2509.21875",
        "2509.21789",
        "2509.22582",
        exact=True,
    ),
    case("워터마크", "2510.09263", exact=True),
    case("랭킹", "2509.18091", exact=True),
    case(
        "양자화",
        "2509.00404",
        "2509.01624",
        "2509.17428",
        "2509.22220",
        "2509.25149",
        exact=True,
    ),
    case(
        "번역",
        "2509.00425",
        "2509.05668",
        "2509.17671",
        "2510.09116",
        "2512.16378",
        exact=True,
    ),
    case("티베트", "2509.18060", exact=True),
    case("추천", "2508.21334", "2509.09114", "2509.09873", "2510.12709", exact=True),
    case(
        "로봇",
        "2508.21046",
        "2508.21800",
        "2508.17198",
        "2509.00328",
        "2509.06285",
        "2509.06951",
        exact=True,
    ),
    case(
        "의료 영상",
        "2508.21793",
        "2508.21580",
        "2508.21435",
        "2509.01360",
        "2509.02379",
        "2509.06467",
        "2509.06830",
        exact=True,
    ),
    case("음성 합성", "2509.02523", "2509.18060", "2509.22220", "2510.01284", exact=True),
    # Mixed Korean and English.
    case("KV 캐시", "2509.17396", "2510.08666", first="2509.17396"),
    case("RAG 환각", "2509.17671", "2509.21875"),
    case("GUI 에이전트", "2509.02544", "2509.01052", "2509.06477"),
    case("diffusion 언어", "2509.24014", "2510.08666", "2509.18085"),
    case("멀티모달 환각", "2508.21496"),
    case("Qwen3 음성", "2509.17765", first="2509.17765"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def archive(shared_digests: Path):
    store = await Store.open(":memory:")
    for path in sorted((shared_digests / "seed-blog").glob("*.md")):
        try:
            digest = load_digest(path)
        except NotADigestError:
            continue
        await store.save_digest(digest, path.name)
    yield store
    await store.close()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=[c.query for c in CASES])
async def test_search_relevance(archive: Store, case: Case) -> None:
    hits = await archive.search(case.query, limit=case.limit)
    found = [hit.arxiv_id for hit in hits]

    assert len(found) == len(set(found)), "a paper is listed twice"
    missing = case.expected - set(found)
    assert not missing, f"missing {sorted(missing)}; got {found}"
    if case.exact:
        extra = set(found) - case.expected
        assert not extra, f"unexpected {sorted(extra)}"
    if case.first is not None:
        assert found[0] == case.first


def test_relevance_table_size() -> None:
    assert len(CASES) >= 30


@pytest.mark.asyncio(loop_scope="module")
async def test_query_without_full_match_falls_back_to_any_word(archive: Store) -> None:
    # No post contains both "멀티모달" and "RAG", so papers with either word are returned.
    hits = await archive.search("멀티모달 RAG", limit=10)

    assert len(hits) == 10
    for hit in hits:
        paper = await archive.paper_by_id(hit.arxiv_id)
        assert paper is not None
        text = normalize(paper.title + " ".join(s.markdown for s in paper.sections))
        assert "멀티모달" in text or "rag" in text, hit.arxiv_id


@pytest.mark.asyncio(loop_scope="module")
async def test_repeated_paper_reports_latest_day(archive: Store) -> None:
    hits = await archive.search("ELV-Halluc", limit=1)
    assert str(hits[0].date) == "2025-09-03"
    assert hits[0].number == 5


@pytest.mark.asyncio(loop_scope="module")
async def test_suggest_on_archive(archive: Store) -> None:
    titles = [s.title for s in await archive.suggest("qwen")]
    ids = [s.arxiv_id for s in await archive.suggest("2509.177")]

    assert titles == ["Qwen3-Omni Technical Report"]
    assert set(ids) == {"2509.17765", "2509.17786"}
