"""Tests of the search tokenizer and the FTS5 query builder."""

from __future__ import annotations

import pytest

from bot.search import (
    Term,
    find_arxiv_ids,
    index_tokens,
    match_expression,
    query_terms,
    title_prefix_expression,
)


def test_hangul_run_indexed_as_bigrams() -> None:
    assert index_tokens("추론을") == ["추론", "론을"]


def test_mixed_text_tokens() -> None:
    assert index_tokens("Qwen3-Omni는 LLM의 추론") == ["qwen3", "omni", "는", "llm", "의", "추론"]


def test_index_normalizes_width_and_case() -> None:
    assert index_tokens("ＲＡＧ Ｒａｇ") == ["rag", "rag"]


def test_two_syllable_query_is_one_bigram() -> None:
    assert query_terms("추론") == [Term(("추론",), prefix=False)]


def test_long_korean_query_is_bigram_phrase() -> None:
    assert query_terms("멀티모달") == [Term(("멀티", "티모", "모달"), prefix=False)]


def test_single_syllable_query_is_prefix() -> None:
    assert query_terms("돈") == [Term(("돈",), prefix=True)]


def test_latin_terms_prefix_from_three_letters() -> None:
    assert query_terms("kv RAG agents") == [
        Term(("kv",), prefix=False),
        Term(("rag",), prefix=True),
        Term(("agents",), prefix=True),
    ]


def test_query_terms_are_deduplicated() -> None:
    assert query_terms("rag RAG Rag") == [Term(("rag",), prefix=True)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"', None),
        ("*", None),
        ("--", None),
        ("'", None),
        ("NEAR(", '"near"*'),
        ("a AND b", '"a" AND "and"* AND "b"'),
        ('x"y', '"x" AND "y"'),
        ("it's", '"it" AND "s"'),
    ],
)
def test_match_expression_quotes_every_term(query: str, expected: str | None) -> None:
    assert match_expression(query_terms(query)) == expected


def test_term_quotes_embedded_quote() -> None:
    assert Term(('a"b',), prefix=False).fts() == '"a""b"'


def test_match_expression_any_term() -> None:
    assert match_expression(query_terms("멀티모달 rag"), any_term=True) == (
        '"멀티 티모 모달" OR "rag"*'
    )


def test_title_prefix_expression_makes_last_term_prefix() -> None:
    assert title_prefix_expression("qwen om") == '"qwen"* AND "om"*'
    assert title_prefix_expression("멀티모") == '"멀티 티모"*'
    assert title_prefix_expression("  ") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2509.17765", ["2509.17765"]),
        ("see 2509.17765v2, then hep-th/9901001", ["2509.17765", "hep-th/9901001"]),
        ("math.GT/0309136", ["math.GT/0309136"]),
        ("2509.17765 2509.17765v1", ["2509.17765"]),
        ("12509.17765", []),
        ("version 2.5", []),
        ("추론", []),
    ],
)
def test_find_arxiv_ids(text: str, expected: list[str]) -> None:
    assert find_arxiv_ids(text) == expected
