"""Tests of the search tokenizer and the FTS5 query builder."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# The index tokenizer spelled out word by word, as a reference for the one-pass version.
REFERENCE_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]+"
)


def reference_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    folded = unicodedata.normalize("NFKC", text).casefold()
    for word in re.findall(r"[^\W_]+", folded):
        position = 0
        for run in REFERENCE_CJK.finditer(word):
            if run.start() > position:
                tokens.append(word[position : run.start()])
            cjk = run.group()
            tokens.extend([cjk] if len(cjk) < 2 else [cjk[i : i + 2] for i in range(len(cjk) - 1)])
            position = run.end()
        if position < len(word):
            tokens.append(word[position:])
    return tokens


# Hangul, kana with a voicing mark (U+3099) and a middle dot (U+30FB), ideographs, Latin,
# accents, digits, underscores, private use and spaces: the boundaries where a one-pass
# tokenizer could split differently.
MIXED_TEXT = st.text(
    alphabet=st.sampled_from(
        list("추론을 멀티모달가ㄱㅏか\u3099・ア漢字 aBc9_-é\u0301Ωß\ue000\n.,'\"")
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(MIXED_TEXT)
def test_index_tokens_match_reference(text: str) -> None:
    assert index_tokens(text) == reference_tokens(text)


def test_index_tokens_match_reference_on_corpus(shared_digests: Path) -> None:
    posts = sorted((shared_digests / "seed-blog").glob("*.md"))

    assert posts
    for post in posts:
        text = post.read_text(encoding="utf-8")
        assert index_tokens(text) == reference_tokens(text), post.name


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
