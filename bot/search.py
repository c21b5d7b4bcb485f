"""Text side of archive search: the tokenizer shared by indexing and queries, and FTS5 queries.

SQLite's `unicode61` tokenizer keeps a Korean word and its particle together (`추론을` is
one token), so a search for `추론` would miss it. Runs of Hangul, kana and CJK ideographs
are therefore indexed as overlapping character bigrams (`추론을` → `추론 론을`), and a query
word becomes a phrase of its bigrams, which matches the word inside any longer run.
Other words (English, numbers, ids) stay whole and are matched as prefixes.

User text never reaches FTS5 syntax: a query is cut into letter and digit runs, and every
term is wrapped in double quotes, so `"`, `*`, `NEAR(`, `AND` and the like are searched as
plain words or dropped as punctuation.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from dataclasses import dataclass

# Hangul syllables and jamo, kana, and CJK ideographs: scripts written without spaces
# between a word and its particle or between words.
_CJK_RANGES = (
    ("\u1100", "\u11ff"),  # Hangul jamo
    ("\u3040", "\u30ff"),  # Hiragana and Katakana
    ("\u3130", "\u318f"),  # Hangul compatibility jamo
    ("\u3400", "\u4dbf"),  # CJK extension A
    ("\u4e00", "\u9fff"),  # CJK unified ideographs
    ("\uac00", "\ud7a3"),  # Hangul syllables
)
_CJK_RUN = re.compile("[" + "".join(f"{first}-{last}" for first, last in _CJK_RANGES) + "]+")
# Letters and digits, the same characters `unicode61` keeps inside a token.
_WORD = re.compile(r"[^\W_]+")


def _cjk_letters() -> frozenset[str]:
    """Return the characters of `_CJK_RANGES` that `_WORD` matches.

    The ranges also hold marks and punctuation (U+3099, U+30FB), which `_WORD` treats as
    separators, so the index tokenizer leaves them out of its CJK runs too.
    """
    return frozenset(
        chr(code)
        for first, last in _CJK_RANGES
        for code in range(ord(first), ord(last) + 1)
        # `\w` in a str pattern is isalnum() plus "_".
        if chr(code).isalnum()
    )


def _character_class(characters: frozenset[str]) -> str:
    """Return the body of a regex class matching `characters`, as ranges of code points."""
    spans: list[list[int]] = []
    for code in sorted(map(ord, characters)):
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(re.escape(chr(a)) + "-" + re.escape(chr(b)) for a, b in spans)


_CJK_LETTER_SET = _cjk_letters()
_CJK_LETTERS = _character_class(_CJK_LETTER_SET)
# A CJK letter run, or a letter/digit run without CJK letters: the pieces of `_split_word`.
_INDEX_RUN = re.compile(f"[{_CJK_LETTERS}]+|[^\\W_{_CJK_LETTERS}]+")

# New-style ids (`2509.17765`, `2509.17765v2`) and old-style ids (`hep-th/9901001`) in
# free text; versions are dropped because the archive keys papers by bare id.
_ARXIV_ID = re.compile(
    r"(?<![\w.])(\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?(?![\w.])",
    re.IGNORECASE,
)

# A bigram-indexed CJK term shorter than this is matched as a prefix of the bigrams.
_BIGRAM = 2

# Latin terms shorter than this are matched exactly, because a prefix query on one
# or two letters matches most of the archive.
_MIN_PREFIX_CHARS = 3


@dataclass(frozen=True)
class Term:
    """One query term: its index tokens and whether the last token is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool

    def fts(self) -> str:
        """Return the term as a quoted FTS5 phrase, safe for any token content."""
        phrase = " ".join(self.tokens).replace('"', '""')
        return f'"{phrase}"' + ("*" if self.prefix else "")


def find_arxiv_ids(text: str) -> list[str]:
    """Return the arXiv ids written in `text`, without version suffixes, in order."""
    return list(dict.fromkeys(match.group(1) for match in _ARXIV_ID.finditer(text)))


def normalize(text: str) -> str:
    """Return `text` in NFKC form and case-folded, as indexed and searched."""
    return unicodedata.normalize("NFKC", text).casefold()


def _bigrams(run: str) -> list[str]:
    if len(run) < _BIGRAM:
        return [run]
    return [run[i : i + _BIGRAM] for i in range(len(run) - 1)]


def _split_word(word: str) -> list[tuple[str, bool]]:
    """Split a letter/digit run into (piece, is_cjk) parts, in order."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _CJK_RUN.finditer(word):
        if match.start() > position:
            parts.append((word[position : match.start()], False))
        parts.append((match.group(), True))
        position = match.end()
    if position < len(word):
        parts.append((word[position:], False))
    return parts


def index_tokens(text: str) -> list[str]:
    """Return the tokens indexed for `text`: whole words, and bigrams for CJK runs."""
    return index_text(text).split()


def index_text(text: str) -> str:
    """Return `text` rewritten as space-separated index tokens for an FTS5 column.

    One regex pass cuts the text into runs, and only CJK runs longer than a bigram are
    split further. Tokenizing word by word took about 40% of the time of the 1,000-digest
    backfill in bench/bench_search.py.
    """
    pieces = []
    for run in _INDEX_RUN.findall(normalize(text)):
        if len(run) > _BIGRAM and run[0] in _CJK_LETTER_SET:
            pieces.append(" ".join(map(operator.add, run, run[1:])))
        else:
            pieces.append(run)
    return " ".join(pieces)


def query_terms(query: str) -> list[Term]:
    """Cut a user query into search terms; punctuation and FTS5 operators become plain text."""
    terms: list[Term] = []
    for word in _WORD.findall(normalize(query)):
        for piece, is_cjk in _split_word(word):
            if is_cjk:
                # One syllable cannot be a bigram, so it matches bigrams that start with it.
                terms.append(Term(tuple(_bigrams(piece)), prefix=len(piece) < _BIGRAM))
            else:
                terms.append(Term((piece,), prefix=len(piece) >= _MIN_PREFIX_CHARS))
    return _dedupe(terms)


def _dedupe(terms: list[Term]) -> list[Term]:
    seen: set[Term] = set()
    unique = []
    for term in terms:
        if term not in seen:
            seen.add(term)
            unique.append(term)
    return unique


def match_expression(terms: list[Term], *, any_term: bool = False) -> str | None:
    """Return an FTS5 MATCH expression requiring all terms (or any, with `any_term`)."""
    if not terms:
        return None
    joiner = " OR " if any_term else " AND "
    return joiner.join(term.fts() for term in terms)


def title_prefix_expression(prefix: str) -> str | None:
    """Return an FTS5 expression for autocomplete: all terms, the last one as a prefix."""
    terms = query_terms(prefix)
    if not terms:
        return None
    last = terms[-1]
    terms[-1] = Term(last.tokens, prefix=True)
    return match_expression(terms)


@dataclass(frozen=True)
class SearchHit:
    """One archive paper that matched a search, with its latest appearance."""

    arxiv_id: str
    title: str
    date: dt.date
    number: int
    # Higher is better; an exact arXiv id match scores above every text match.
    score: float


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete choice: a paper id and its title."""

    arxiv_id: str
    title: str
