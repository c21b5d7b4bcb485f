"""Tests of the `/paper` grammar and of the answers of `PaperService` in Korean and English."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.arxiv_lookup import ArxivLookup, ArxivMetadata
from bot.commands import (
    MAX_QUERY_CHARS,
    AnswerKind,
    Help,
    Keywords,
    PaperById,
    PaperByNumber,
    PaperList,
    PaperService,
    QueryError,
    parse_paper_query,
)
from bot.digest.arxiv_ids import ArxivRef
from bot.digest.model import DateSource, Digest, Link, LinkKind, Paper, Section
from bot.store import Store
from tests.fakes.arxiv_api import FakeArxivApi, FakeEntry
from tests.fakes.clock import FakeClock

TODAY = dt.date(2025, 9, 23)
YESTERDAY = dt.date(2025, 9, 22)
# 2025-09-22 23:30 UTC is already 2025-09-23 08:30 in Seoul.
NOW = dt.datetime(2025, 9, 22, 23, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", PaperList()),
        ("   ", PaperList()),
        ("3", PaperByNumber(3)),
        (" 12 ", PaperByNumber(12)),
        ("３", PaperByNumber(3)),
        ("999", PaperByNumber(999)),
        ("2509.17765", PaperById(ArxivRef("2509.17765"))),
        ("2509.17765v2", PaperById(ArxivRef("2509.17765", 2))),
        ("arXiv:2509.17765", PaperById(ArxivRef("2509.17765"))),
        ("hep-th/9901001", PaperById(ArxivRef("hep-th/9901001"))),
        ("math.GT/0309136v1", PaperById(ArxivRef("math.GT/0309136", 1))),
        ("https://arxiv.org/abs/2509.17765", PaperById(ArxivRef("2509.17765"))),
        ("http://arxiv.org/abs/2509.17765v1", PaperById(ArxivRef("2509.17765", 1))),
        ("https://arxiv.org/pdf/2509.17765v2", PaperById(ArxivRef("2509.17765", 2))),
        ("https://arxiv.org/pdf/2509.17765.pdf", PaperById(ArxivRef("2509.17765"))),
        ("arxiv.org/abs/hep-th/9901001", PaperById(ArxivRef("hep-th/9901001"))),
        (
            "https://www.alphaxiv.org/ko/overview/2509.17765",
            PaperById(ArxivRef("2509.17765")),
        ),
        ("https://www.alphaxiv.org/abs/2509.17765", PaperById(ArxivRef("2509.17765"))),
        ("https://huggingface.co/papers/2509.17765", PaperById(ArxivRef("2509.17765"))),
        ("2025-09-23", PaperList(TODAY)),
        ("2025-9-1", PaperList(dt.date(2025, 9, 1))),
        ("20250922", PaperList(YESTERDAY)),
        ("2025-09-22 3", PaperByNumber(3, YESTERDAY)),
        ("2025-09-22   3", PaperByNumber(3, YESTERDAY)),
        ("help", Help()),
        ("HELP", Help()),
        ("도움말", Help()),
        ("멀티모달 RAG", Keywords("멀티모달 RAG")),
        ("추론", Keywords("추론")),
        ("reasoning  agents", Keywords("reasoning agents")),
        ("2509.1776", Keywords("2509.1776")),
        ("2025-09-22 abc", Keywords("2025-09-22 abc")),
        ('"NEAR(x y)" OR --', Keywords('"NEAR(x y)" OR --')),
        ("\u200b추론\u202e", Keywords("추론")),
        ("multi\u200dmodal", Keywords("multimodal")),
        ("line\none", Keywords("line one")),
    ],
)
def test_parse_forms(text: str, expected: object) -> None:
    assert parse_paper_query(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("\u200b\u200c\u2066\u202e", "error_query_empty"),
        ("\ufeff", "error_query_empty"),
        ("x" * (MAX_QUERY_CHARS + 1), "error_query_too_long"),
        ("논문 " * 1000, "error_query_too_long"),
        ("abc\x00def", "error_query_control_chars"),
        ("\x1b[31mred", "error_query_control_chars"),
        ("0", "error_invalid_number"),
        ("2025-09-22 0", "error_invalid_number"),
        ("2025-02-30", "error_invalid_date"),
        ("2025-13-01", "error_invalid_date"),
        ("2025-02-30 3", "error_invalid_date"),
        ("2025-09-24", "error_future_date"),
        ("2099-01-01 1", "error_future_date"),
        ("https://arxiv.org/abs/", "error_malformed_url"),
        ("https://arxiv.org/abs/not-an-id", "error_malformed_url"),
        ("https://www.alphaxiv.org/ko/overview/12345", "error_malformed_url"),
        ("https://huggingface.co/papers/", "error_malformed_url"),
        ("https://example.com/paper/2509.17765", "error_unsupported_url"),
    ],
)
def test_parse_rejects_bad_input(text: str, key: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_paper_query(text, today=TODAY)
    assert raised.value.key == key


def test_parse_accepts_max_length() -> None:
    text = "a" * MAX_QUERY_CHARS
    assert parse_paper_query(text, today=TODAY) == Keywords(text)


def test_parse_too_long_reports_length() -> None:
    with pytest.raises(QueryError) as raised:
        parse_paper_query("x" * 2000, today=TODAY)
    assert raised.value.values == {"length": 2000, "max": MAX_QUERY_CHARS}


# Answers


def make_paper(number: int, arxiv_id: str, title: str, text: str) -> Paper:
    return Paper(
        number=number,
        title=title,
        arxiv_id=arxiv_id,
        arxiv_version=None,
        links=(Link(LinkKind.ABS, f"https://arxiv.org/abs/{arxiv_id}"),),
        sections=(Section("Method", text),),
    )


QWEN = make_paper(1, "2509.17765", "Qwen3-Omni Technical Report", "멀티모달 모델의 추론을 다룬다.")
ONEPIECE = make_paper(2, "2509.18091", "OnePiece: Context Engineering", "랭킹 시스템")
EPICACHE = make_paper(3, "2509.17396", "EpiCache: Episodic KV Cache", "KV 캐시 관리")


def make_digest(date: dt.date, papers: tuple[Paper, ...]) -> Digest:
    return Digest(date, f"Daily Papers — {date}", f"{date}.md", DateSource.FRONT_MATTER, papers)


@pytest.fixture
async def api():
    server = FakeArxivApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def store():
    opened = await Store.open(":memory:")
    repeat = make_paper(5, QWEN.arxiv_id, QWEN.title, "어제의 요약")
    await opened.save_digest(make_digest(YESTERDAY, (ONEPIECE, repeat)), "y")
    await opened.save_digest(make_digest(TODAY, (QWEN, ONEPIECE, EPICACHE)), "t")
    # A digest dated after today in Seoul must not count as today's.
    tomorrow = make_digest(TODAY + dt.timedelta(days=1), (EPICACHE,))
    await opened.save_digest(tomorrow, "tomorrow")
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def service(store: Store, api: FakeArxivApi, clock: FakeClock) -> PaperService:
    lookup = ArxivLookup(store, clock, query_url_format=api.query_url_format, timeout_seconds=5)
    return PaperService(store, lookup, clock)


async def test_today_uses_time_zone(service: PaperService) -> None:
    assert service.today() == TODAY


async def test_answer_today_list(service: PaperService) -> None:
    answer = await service.answer("", "ko")

    assert answer.kind is AnswerKind.PAPER_LIST
    assert answer.digest is not None
    assert answer.digest.date == TODAY
    assert [entry.paper.arxiv_id for entry in answer.entries] == [
        "2509.17765",
        "2509.18091",
        "2509.17396",
    ]
    assert answer.lines[0] == "Daily Papers — 2025-09-23 · 3편"
    assert answer.lines[1] == "1. Qwen3-Omni Technical Report"


async def test_answer_list_in_english(service: PaperService) -> None:
    answer = await service.answer("", "en")
    assert answer.lines[0] == "Daily Papers — 2025-09-23 · 3 papers"
    assert answer.locale == "en"


async def test_answer_day_list(service: PaperService) -> None:
    answer = await service.answer("2025-09-22", "en")
    assert answer.kind is AnswerKind.PAPER_LIST
    assert [entry.number for entry in answer.entries] == [2, 5]
    assert all(entry.date == YESTERDAY for entry in answer.entries)


async def test_answer_number_of_today(service: PaperService) -> None:
    answer = await service.answer("3", "ko")

    assert answer.kind is AnswerKind.PAPER
    assert answer.entries[0].paper == EPICACHE
    assert answer.entries[0].date == TODAY
    assert answer.lines == (
        "2025-09-23 3번 논문",
        "EpiCache: Episodic KV Cache",
        "https://arxiv.org/abs/2509.17396",
    )


async def test_answer_number_of_day(service: PaperService) -> None:
    answer = await service.answer("2025-09-22 5", "en")
    assert answer.kind is AnswerKind.PAPER
    assert answer.entries[0].paper.sections[0].markdown == "어제의 요약"
    assert answer.lines[0] == "Paper 5 of 2025-09-22"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "The digest of 2025-09-23 has 3 papers, so there is no paper 999."),
        ("ko", "2025-09-23 다이제스트에는 논문이 3편이라 999번 논문이 없습니다."),
    ],
)
async def test_answer_number_not_found(service: PaperService, locale: str, expected: str) -> None:
    answer = await service.answer("999", locale)

    assert answer.kind is AnswerKind.ERROR
    assert answer.error_key == "error_paper_number_not_found"
    assert answer.lines[0].startswith(expected)


async def test_answer_id_in_archive(service: PaperService, api: FakeArxivApi) -> None:
    answer = await service.answer("https://arxiv.org/abs/2509.17765v3", "en")

    assert answer.kind is AnswerKind.PAPER
    assert answer.entries[0].paper == QWEN
    assert (answer.entries[0].date, answer.entries[0].number) == (TODAY, 1)
    assert answer.lines[0] == "Paper 1 of 2025-09-23"
    assert answer.lines[-1] == "Also listed on 2025-09-22"
    assert api.queries == []


async def test_answer_id_from_arxiv(service: PaperService, api: FakeArxivApi) -> None:
    api.entries["2509.00001"] = FakeEntry("2509.00001", "Qwen3-Omni Technical Report")

    answer = await service.answer("2509.00001", "ko")

    assert answer.kind is AnswerKind.PAPER
    entry = answer.entries[0]
    assert (entry.date, entry.number) == (None, None)
    assert isinstance(entry.metadata, ArxivMetadata)
    assert entry.paper.title == "Qwen3-Omni Technical Report"
    assert entry.paper.sections[0].heading == "초록"
    assert answer.lines[0] == "아카이브에 없는 논문이라 arXiv 정보를 보여 드립니다:"
    assert "저자: Test Author" in answer.lines
    assert len(api.queries) == 1


@pytest.mark.parametrize(
    ("status", "key"),
    [(429, "error_arxiv_busy"), (503, "error_arxiv_unavailable"), (None, "error_unknown_id")],
)
async def test_answer_arxiv_failures(
    service: PaperService, api: FakeArxivApi, status: int | None, key: str
) -> None:
    if status is not None:
        api.statuses = [status]

    answer = await service.answer("2509.99999", "en")

    assert answer.kind is AnswerKind.ERROR
    assert answer.error_key == key
    assert "HTTP" not in answer.lines[0]
    assert "Traceback" not in answer.lines[0]


async def test_answer_arxiv_timeout(store: Store, api: FakeArxivApi, clock: FakeClock) -> None:
    api.hang = True
    lookup = ArxivLookup(store, clock, query_url_format=api.query_url_format, timeout_seconds=0.2)
    service = PaperService(store, lookup, clock)

    answer = await service.answer("2509.99999", "ko")

    assert answer.error_key == "error_arxiv_timeout"
    assert answer.lines == ("arXiv가 제때 응답하지 않았습니다. 잠시 뒤에 다시 시도하세요.",)
    api.release()


async def test_answer_keywords(service: PaperService) -> None:
    answer = await service.answer("추론", "ko")

    assert answer.kind is AnswerKind.SEARCH_RESULTS
    assert [entry.paper.arxiv_id for entry in answer.entries] == ["2509.17765"]
    assert answer.lines[0] == '"추론" 검색 결과 (1편):'
    assert answer.lines[1] == "2025-09-23 1번 · Qwen3-Omni Technical Report (2509.17765)"


async def test_answer_keywords_no_results(service: PaperService) -> None:
    answer = await service.answer("quantum gravity", "en")
    assert answer.kind is AnswerKind.SEARCH_RESULTS
    assert answer.entries == ()
    assert answer.lines[0].startswith('No paper in the archive matches "quantum gravity"')


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_answer_help_covers_every_form(service: PaperService, locale: str) -> None:
    answer = await service.answer("help", locale)

    assert answer.kind is AnswerKind.HELP
    text = "\n".join(answer.lines)
    for example in (
        "/paper:",
        "/paper 3",
        "2509.17765v2",
        "hep-th/9901001",
        "https://arxiv.org/abs/2509.17765",
        "alphaXiv",
        "Hugging Face",
        "/paper 2025-09-23:",
        "/paper 2025-09-23 3",
        "도움말",
        str(MAX_QUERY_CHARS),
    ):
        assert example in text, example


async def test_answer_korean_help_word(service: PaperService) -> None:
    answer = await service.answer("도움말", None)
    assert answer.kind is AnswerKind.HELP
    assert answer.locale == "ko"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("0", "error_invalid_number"),
        ("2025-02-30", "error_invalid_date"),
        ("2025-09-24", "error_future_date"),
        ("2025-09-01", "error_no_digest_on_date"),
        ("\u200b", "error_query_empty"),
        ("x" * 2000, "error_query_too_long"),
        ("a\x07b", "error_query_control_chars"),
        ("https://arxiv.org/abs/garbage", "error_malformed_url"),
        ("https://example.com/x", "error_unsupported_url"),
    ],
)
@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_answer_bad_input(service: PaperService, text: str, key: str, locale: str) -> None:
    answer = await service.answer(text, locale)

    assert answer.kind is AnswerKind.ERROR
    assert answer.error_key == key
    assert answer.lines[0]
    assert "{" not in answer.lines[0]


async def test_answer_without_digests(api: FakeArxivApi, clock: FakeClock) -> None:
    empty = await Store.open(":memory:")
    try:
        service = PaperService(empty, ArxivLookup(empty, clock), clock)
        assert (await service.answer("", "en")).error_key == "error_no_digest"
        assert (await service.answer("3", "en")).error_key == "error_no_digest"
    finally:
        await empty.close()


async def test_answer_digest_without_papers(store: Store, clock: FakeClock) -> None:
    await store.save_digest(make_digest(dt.date(2025, 9, 1), ()), "empty")
    service = PaperService(store, ArxivLookup(store, clock), clock)

    listing = await service.answer("2025-09-01", "en")
    number = await service.answer("2025-09-01 1", "en")

    assert listing.kind is AnswerKind.PAPER_LIST
    assert listing.lines == ("No papers today (2025-09-01).",)
    assert number.error_key == "error_no_papers_on_date"


class BrokenLookup:
    async def lookup(self, arxiv_id: str) -> ArxivMetadata:
        raise RuntimeError(f"secret internal detail for {arxiv_id}")


async def test_answer_hides_internal_errors(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = PaperService(store, BrokenLookup(), clock)

    with caplog.at_level(logging.ERROR, logger="bot.commands"):
        answer = await service.answer("2509.99999", "en")

    assert answer.kind is AnswerKind.ERROR
    assert answer.error_key == "error_internal"
    assert "secret" not in answer.lines[0]
    assert any(record.exc_info for record in caplog.records)
    assert "secret internal detail" in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3번", PaperByNumber(3)),
        ("3번째", PaperByNumber(3)),
        ("#3", PaperByNumber(3)),
        ("2025-09-23 3번", PaperByNumber(3, dt.date(2025, 9, 23))),
        ("2509.17765를", PaperById(ArxivRef("2509.17765"))),
        ("2509.17765V2", PaperById(ArxivRef("2509.17765", 2))),
        ("추론을", Keywords("추론을")),
        ("멀티모달 3번", Keywords("멀티모달 3번")),
    ],
)
def test_parse_korean_shorthand(text: str, expected: object) -> None:
    assert parse_paper_query(text, today=TODAY) == expected
