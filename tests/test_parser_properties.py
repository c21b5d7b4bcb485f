"""Property tests: any input gives a Digest or a DigestError, and well-formed posts round-trip."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest.arxiv_ids import ArxivRef, arxiv_id_from_url, parse_arxiv_id
from bot.digest.errors import DigestError
from bot.digest.model import Digest, LinkKind
from bot.digest.parser import parse_digest

# Modest example counts keep this module at a few seconds on two cores. There is no deadline,
# because a slow CI machine must not turn into a flaky failure.
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Hangul, emoji, right-to-left text and zero-width characters, which the digests and chat
# users may contain.
UNICODE_SAMPLES = ["논문 요약", "🚀🧠", "مرحبا", "שלום", "\u200b", "\u200d", "\ufeff", "\u202e"]

FRONT_MATTERS = [
    '---\nlayout: post\ntitle: "Daily Papers — 2025-09-23"\ndate: 2025-09-23 08:15:00\n---\n',
    '---\ntitle: Daily Papers — 2025-08-29"\ndate: 2025-08-29 08:15:00\n---\n',
    '---\ntitle: "unclosed\ndate: [2025\n---\n',
    "---\n- a list\n---\n",
    "---\ndate: 2025-13-45\n---\n",
    "---\n",
    "",
]
URLS = [
    "https://arxiv.org/abs/2509.17765",
    "http://arxiv.org/abs/2508.21824v1",
    "https://arxiv.org/pdf/2509.17765v2.pdf",
    "https://arxiv.org/abs/hep-th/9901001",
    "https://www.alphaxiv.org/ko/overview/2509.17765",
    "https://huggingface.co/papers/2509.17765",
    "https://arxiv.org/abs/9999.99999999",
    "https://example.com/paper",
    "",
]
LINE_PIECES = [
    "## Introduction",
    "## Method   ",
    "## Limitations",
    "- Goal: 목표를 제시한다.",
    "- 목표: 한국어 라벨",
    "- unlabelled bullet",
    "  continued bullet line",
    "정보 부족.",
    "> [Alphaxiv](https://www.alphaxiv.org/ko/overview/2509.17765)",
    "제목: A wrapped",
    "arXiv: https://arxiv.org/abs/2508.20751",
    "<Parallel> and <Path> tokens",
    "```",
    "<div>",
    "---",
    "1. ordered item",
    "[1] bracket",
    "",
]

markdown_text = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("#[]()*_`<>!\\&-:>\n "),
    ),
    max_size=60,
)
paper_heading = st.builds(
    "{marks} {number}. [{title}]({url})".format,
    marks=st.sampled_from(["#", "##", "###", ""]),
    number=st.integers(min_value=0, max_value=10_000),
    title=st.one_of(markdown_text, st.sampled_from(UNICODE_SAMPLES)),
    url=st.sampled_from(URLS),
)
digest_line = st.one_of(
    paper_heading,
    st.sampled_from(LINE_PIECES),
    st.sampled_from(UNICODE_SAMPLES),
    markdown_text,
)
digest_like_post = st.builds(
    lambda front, lines, newline: (front + "\n".join(lines)).replace("\n", newline),
    st.sampled_from(FRONT_MATTERS),
    st.lists(digest_line, max_size=25),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
SOURCES = st.sampled_from(["2025-09-23-daily-papers.md", "notes.md", "https://x.test/a?b=1", ""])


def _parses_or_raises_digest_error(data: str | bytes, source: str) -> Digest | None:
    try:
        digest = parse_digest(data, source)
    except DigestError as error:
        assert "\n" not in str(error)
        assert error.line is None or error.line >= 1
        return None
    assert isinstance(digest, Digest)
    for paper in digest.papers:
        assert parse_arxiv_id(paper.arxiv_id) == ArxivRef(paper.arxiv_id, None)
        assert paper.title == " ".join(paper.title.split())
        assert paper.title
    return digest


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2_000), source=SOURCES)
def test_arbitrary_bytes_never_crash(data: bytes, source: str) -> None:
    _parses_or_raises_digest_error(data, source)


@PROPERTY_SETTINGS
@given(text=st.text(st.characters(exclude_categories=()), max_size=2_000), source=SOURCES)
def test_arbitrary_text_never_crashes(text: str, source: str) -> None:
    # exclude_categories=() lets lone surrogates through, which a str can hold.
    _parses_or_raises_digest_error(text, source)


@PROPERTY_SETTINGS
@given(post=digest_like_post, source=SOURCES)
def test_digest_like_markdown_never_crashes(post: str, source: str) -> None:
    _parses_or_raises_digest_error(post, source)
    _parses_or_raises_digest_error(b"\xef\xbb\xbf" + post.encode("utf-8"), source)


# Titles without markdown syntax, so the expected title is the text with whitespace collapsed.
plain_title = st.text(
    st.one_of(
        st.characters(
            codec="utf-8",
            exclude_categories=("Cc", "Cs"),
            exclude_characters="[]()*_`<>!\\&#",
        ),
        st.sampled_from(sorted(set("".join(UNICODE_SAMPLES)))),
    ),
    min_size=1,
    max_size=40,
).filter(lambda title: title.split() != [])
new_style_id = st.builds(
    "{:02d}{:02d}.{:05d}".format,
    st.integers(min_value=15, max_value=99),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=99_999),
)


@PROPERTY_SETTINGS
@given(
    papers=st.lists(st.tuples(plain_title, new_style_id), min_size=1, max_size=12),
    alphaxiv=st.booleans(),
)
def test_well_formed_post_round_trips(papers: list[tuple[str, str]], alphaxiv: bool) -> None:
    lines = ['---\ntitle: "Daily Papers"\ndate: 2025-09-23 08:15:00\n---\n']
    for number, (title, arxiv_id) in enumerate(papers, start=1):
        lines.append(f"# {number}. [{title}](https://arxiv.org/abs/{arxiv_id})\n")
        if alphaxiv:
            lines.append(f"> [Alphaxiv](https://www.alphaxiv.org/ko/overview/{arxiv_id})\n")
        lines.append("## Introduction\n\n- Goal: 목표.\n- 설명 없는 항목\n\n## Method\n\n본문.\n")

    digest = parse_digest("\n".join(lines), "2025-09-23-daily-papers.md")

    assert digest.date == dt.date(2025, 9, 23)
    assert [paper.arxiv_id for paper in digest.papers] == [arxiv_id for _, arxiv_id in papers]
    assert [paper.title for paper in digest.papers] == [" ".join(t.split()) for t, _ in papers]
    for paper in digest.papers:
        assert [bullet.label for bullet in paper.sections[0].bullets] == ["Goal", None]
        assert paper.sections[1].markdown == "본문."
        assert (paper.link(LinkKind.ALPHAXIV) is not None) is alphaxiv


@PROPERTY_SETTINGS
@given(text=st.text(max_size=80))
def test_arxiv_id_parsers_never_crash(text: str) -> None:
    ref = parse_arxiv_id(text)
    if ref is not None:
        assert parse_arxiv_id(ref.versioned_id) == ref
    url_ref = arxiv_id_from_url(text)
    if url_ref is not None:
        assert parse_arxiv_id(url_ref.versioned_id) == url_ref
