"""Digest parser on the bundled posts and on small hand-written digests, errors included."""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
from pathlib import Path

import pytest

from bot.digest.errors import DigestError, NotADigestError
from bot.digest.model import DateSource, Digest, LinkKind
from bot.digest.parser import MAX_DIGEST_BYTES, load_digest, parse_digest
from tests.conftest import EXAMPLE_DIGEST, FIXTURES, REFERENCE_IDS

DIGESTS = FIXTURES / "digests"
STRAY_QUOTE_POST = DIGESTS / "2025-08-29-daily-papers-20250829.md"
PROTOTYPE_POST = DIGESTS / "2025-08-29-daily-papers.prototype.md"
LARGEST_POST = DIGESTS / "2025-09-03-daily-papers-20250903.md"
TOKENS_POST = DIGESTS / "2025-09-10-daily-papers-20250910.md"
EMPTY_POST = DIGESTS / "2025-12-26-daily-papers-20251226.md"
TEST_POST = DIGESTS / "2025-07-01-test.md"

FRONT_MATTER = '---\ntitle: "Daily Papers — 2025-09-23"\ndate: 2025-09-23 08:15:00\n---\n\n'
# The body of a post built with `_post` starts on this file line.
BODY_FIRST_LINE = 6


def _post(body: str, front_matter: str = FRONT_MATTER) -> str:
    return front_matter + body


def _paper(number: int, arxiv_url: str, title: str = "A Title") -> str:
    return (
        f"# {number}. [{title}]({arxiv_url})\n\n## Introduction\n\n- Goal: g\n\n## Method\n\nm\n\n"
    )


@pytest.fixture(scope="module")
def reference() -> Digest:
    return load_digest(EXAMPLE_DIGEST)


# --- the reference post -------------------------------------------------------------------


def test_reference_digest_header(reference: Digest) -> None:
    assert reference.date == dt.date(2025, 9, 23)
    assert reference.date_source is DateSource.FRONT_MATTER
    assert reference.title == "Daily Papers — 2025-09-23"
    assert reference.source == str(EXAMPLE_DIGEST)


def test_reference_paper_ids_and_numbers(reference: Digest) -> None:
    assert [paper.arxiv_id for paper in reference.papers] == REFERENCE_IDS
    assert [paper.number for paper in reference.papers] == list(range(1, 12))
    assert all(paper.arxiv_version is None for paper in reference.papers)


def test_reference_titles(reference: Digest) -> None:
    titles = [paper.title for paper in reference.papers]

    assert titles[0] == "Qwen3-Omni Technical Report"
    assert titles[1] == (
        "OnePiece: Bringing Context Engineering and Reasoning to Industrial Cascade Ranking System"
    )
    assert titles[10] == (
        "From Hugging Face to GitHub: Tracing License Drift in the Open-Source AI Ecosystem"
    )


def test_reference_links(reference: Digest) -> None:
    first = reference.papers[0]

    assert first.link(LinkKind.ABS) == "https://arxiv.org/abs/2509.17765"
    assert first.link(LinkKind.PDF) == "https://arxiv.org/pdf/2509.17765"
    assert first.link(LinkKind.HUGGINGFACE) is None
    for paper in reference.papers:
        expected = f"https://www.alphaxiv.org/ko/overview/{paper.arxiv_id}"
        assert paper.link(LinkKind.ALPHAXIV) == expected


def test_reference_sections_in_order(reference: Digest) -> None:
    expected = ["Introduction", "Method", "Results", "Limitations", "Conclusion"]

    for paper in reference.papers:
        assert [section.heading for section in paper.sections] == expected


def test_reference_labelled_bullets(reference: Digest) -> None:
    introduction = reference.papers[0].sections[0]

    assert [bullet.label for bullet in introduction.bullets] == [
        "Goal",
        "Motivation",
        "Contribution",
    ]
    assert introduction.bullets[0].markdown.startswith("본 보고서는 텍스트, 이미지")
    assert not introduction.bullets[0].markdown.startswith("Goal")
    assert introduction.markdown.startswith("- Goal: 본 보고서는")


def test_reference_unlabelled_bullets(reference: Digest) -> None:
    introduction = reference.papers[5].sections[0]

    assert [bullet.label for bullet in introduction.bullets] == [None, None, None]
    assert introduction.bullets[0].markdown.startswith("본 연구의 목표는")


def test_reference_information_missing_limitations(reference: Digest) -> None:
    limitations = reference.papers[0].sections[3]

    assert limitations.heading == "Limitations"
    assert limitations.markdown == "정보 부족."
    assert limitations.bullets == ()


def test_reference_multiline_section_keeps_lines(reference: Digest) -> None:
    method = reference.papers[5].sections[1]

    assert method.markdown.count("\n") == 2
    assert not any(line != line.rstrip() for line in method.markdown.split("\n"))


def test_reference_with_bom_and_crlf_is_equal(reference: Digest) -> None:
    data = EXAMPLE_DIGEST.read_bytes().replace(b"\n", b"\r\n")

    parsed = parse_digest(b"\xef\xbb\xbf" + data, str(EXAMPLE_DIGEST))

    assert parsed == reference


def test_reference_as_str_is_equal(reference: Digest) -> None:
    text = EXAMPLE_DIGEST.read_text(encoding="utf-8")

    assert parse_digest(text, str(EXAMPLE_DIGEST)) == reference


# --- other bundled posts ------------------------------------------------------------------


def test_stray_quote_title_keeps_front_matter_date() -> None:
    digest = load_digest(STRAY_QUOTE_POST)

    assert digest.title == "Daily Papers — 2025-08-29"
    assert digest.date == dt.date(2025, 8, 29)
    assert digest.date_source is DateSource.FRONT_MATTER
    assert len(digest.papers) == 10


def test_korean_labels_split() -> None:
    digest = load_digest(STRAY_QUOTE_POST)
    introduction = digest.papers[1].sections[0]

    assert [bullet.label for bullet in introduction.bullets] == ["목표", "동기", "기여"]
    assert introduction.bullets[0].markdown.startswith("본 연구는 에이전트 강화학습을")


def test_method_as_bullets_has_no_labels() -> None:
    method = load_digest(STRAY_QUOTE_POST).papers[2].sections[1]

    assert method.heading == "Method"
    assert len(method.bullets) == 3
    assert all(bullet.label is None for bullet in method.bullets)
    assert method.bullets[0].markdown.startswith("우선 UNO 모델을")


def test_empty_post_has_zero_papers() -> None:
    digest = load_digest(EMPTY_POST)

    assert digest.papers == ()
    assert digest.date == dt.date(2025, 12, 26)
    assert digest.title == "Daily Papers — 2025-12-26"


def test_test_post_is_not_a_digest() -> None:
    with pytest.raises(NotADigestError) as caught:
        load_digest(TEST_POST)

    message = str(caught.value)
    assert message.startswith(f"{TEST_POST}: not a digest")
    assert "\n" not in message


def test_largest_post_has_39_papers() -> None:
    digest = load_digest(LARGEST_POST)

    assert len(digest.papers) == 39
    assert digest.papers[22].arxiv_id == "2509.02046"
    assert digest.papers[38].title == (
        "FastFit: Accelerating Multi-Reference Virtual Try-On via Cacheable Diffusion Models"
    )


def test_angle_tokens_stay_text_in_sections() -> None:
    digest = load_digest(TOKENS_POST)
    method = digest.papers[0].sections[1]

    assert "<Parallel>, <Path>, <Summary> 토큰으로" in method.markdown
    assert digest.papers[15].title == "ΔL Normalization: Rethink Loss Aggregation in RLVR"


def test_prototype_wrapped_titles_joined() -> None:
    digest = load_digest(PROTOTYPE_POST)

    assert len(digest.papers) == 10
    assert digest.papers[0].title == (
        "Pref-GRPO: Pairwise Preference Reward-based GRPO for Stable "
        "Text-to-Image Reinforcement Learning"
    )
    assert digest.papers[0].arxiv_id == "2508.20751"
    assert digest.papers[8].title == (
        "CogVLA: Cognition-Aligned Vision-Language-Action Model via "
        "Instruction-Driven Routing & Sparsification"
    )


def test_prototype_sections_and_cut_text() -> None:
    paper = load_digest(PROTOTYPE_POST).papers[1]

    assert [section.heading for section in paper.sections] == ["Introduction", "Method"]
    assert [bullet.label for bullet in paper.sections[0].bullets] == [
        "Goal",
        "Motivation",
        "Contribution",
    ]
    # The prototype's text stops mid-sentence; the parser keeps what is there.
    assert paper.sections[1].markdown.endswith("고성능 병렬 코드 실행")


def test_prototype_arxiv_line_used_without_heading_link() -> None:
    body = "### 1. Plain Title\n\n제목: Plain Title  \narXiv: https://arxiv.org/abs/2508.20751\n\n"
    body += "## Introduction\n- Goal: g\n"

    paper = parse_digest(_post(body), "2025-08-29-x.md").papers[0]

    assert paper.arxiv_id == "2508.20751"
    assert paper.title == "Plain Title"


# --- titles, links and markdown on hand-written posts ---------------------------------------


def test_title_markdown_escapes_resolved() -> None:
    body = _paper(1, "https://arxiv.org/abs/2509.01656", r"V\* Search: \[Brackets\] \_and\_ R\&D")

    paper = parse_digest(_post(body), "p.md").papers[0]

    assert paper.title == "V* Search: [Brackets] _and_ R&D"


def test_title_whitespace_collapsed() -> None:
    body = _paper(1, "https://arxiv.org/abs/2510.09116", "DITING: A   Multi-Agent \t Framework")

    paper = parse_digest(_post(body), "p.md").papers[0]

    assert paper.title == "DITING: A Multi-Agent Framework"


def test_title_inline_markup_dropped() -> None:
    body = _paper(1, "https://arxiv.org/abs/2509.01656", "*Fast* `Code` <b>Bold</b> <Path>")

    paper = parse_digest(_post(body), "p.md").papers[0]

    assert paper.title == "Fast Code Bold <Path>"


def test_versioned_link_keeps_version() -> None:
    body = _paper(1, "http://arxiv.org/abs/2508.21824v1")

    paper = parse_digest(_post(body), "p.md").papers[0]

    assert paper.arxiv_id == "2508.21824"
    assert paper.arxiv_version == 1
    assert paper.abs_url == "https://arxiv.org/abs/2508.21824v1"
    assert paper.pdf_url == "https://arxiv.org/pdf/2508.21824v1"


def test_huggingface_link_only_when_linked() -> None:
    linked = "# 1. [T](https://arxiv.org/abs/2509.17765)\n\n"
    linked += "> [HF](https://huggingface.co/papers/2509.17765?x=1) [Other](https://huggingface.co/papers/2509.00001)\n\n"
    linked += "## Method\n\nm\n"

    paper = parse_digest(_post(linked), "p.md").papers[0]
    plain = parse_digest(_post(_paper(1, "https://arxiv.org/abs/2509.17765")), "p.md").papers[0]

    assert paper.link(LinkKind.HUGGINGFACE) == "https://huggingface.co/papers/2509.17765"
    assert [link.kind for link in paper.links].count(LinkKind.HUGGINGFACE) == 1
    assert plain.link(LinkKind.HUGGINGFACE) is None


def test_alphaxiv_link_for_other_paper_left_out() -> None:
    body = "# 1. [T](https://arxiv.org/abs/2509.17765)\n\n"
    body += "> [Alphaxiv](https://www.alphaxiv.org/ko/overview/2509.99999)\n\n## Method\n\nm\n"

    paper = parse_digest(_post(body), "p.md").papers[0]

    assert paper.link(LinkKind.ALPHAXIV) is None


def test_old_style_id_in_heading() -> None:
    paper = parse_digest(_post(_paper(1, "https://arxiv.org/abs/hep-th/9901001v2")), "p.md")

    assert paper.papers[0].arxiv_id == "hep-th/9901001"
    assert paper.papers[0].arxiv_version == 2
    assert paper.papers[0].pdf_url == "https://arxiv.org/pdf/hep-th/9901001v2"


def test_section_markdown_keeps_inline_markup() -> None:
    body = "# 1. [T](https://arxiv.org/abs/2509.17765)\n\n## Method   \n\n"
    body += "Uses **bold**, `code`, [a link](https://example.com) and <Standby>.   \n"
    body += "Second line.\n\n\n## Results\n\nr\n"

    method = parse_digest(_post(body), "p.md").papers[0].sections[0]

    assert method.heading == "Method"
    assert method.markdown == (
        "Uses **bold**, `code`, [a link](https://example.com) and <Standby>.\nSecond line."
    )
    assert method.bullets == ()


def test_bullet_continuation_and_bold_label() -> None:
    body = "# 1. [T](https://arxiv.org/abs/2509.17765)\n\n## Introduction\n\n"
    body += "- **Goal**: first line\n  continued here\n- Note: not a known label\n"

    bullets = parse_digest(_post(body), "p.md").papers[0].sections[0].bullets

    assert bullets[0].label == "Goal"
    assert bullets[0].markdown == "first line\ncontinued here"
    assert bullets[1].label is None
    assert bullets[1].markdown == "Note: not a known label"


def test_mixed_section_body_has_no_bullets() -> None:
    body = "# 1. [T](https://arxiv.org/abs/2509.17765)\n\n## Introduction\n\nText.\n\n- Goal: g\n"

    section = parse_digest(_post(body), "p.md").papers[0].sections[0]

    assert section.bullets == ()
    assert section.markdown == "Text.\n\n- Goal: g"


def test_paper_without_sections() -> None:
    digest = parse_digest(_post("# 1. [T](https://arxiv.org/abs/2509.17765)\n"), "p.md")

    assert digest.papers[0].sections == ()


# --- front matter, dates and titles ------------------------------------------------------


def test_broken_yaml_falls_back_to_file_name_date() -> None:
    front_matter = '---\ntitle: "Daily Papers — 2025-08-29\ndate: [2025-08-29\n---\n\n'
    body = _paper(1, "https://arxiv.org/abs/2508.20751")

    digest = parse_digest(_post(body, front_matter), "posts/2025-08-29-daily-papers.md")

    assert digest.date == dt.date(2025, 8, 29)
    assert digest.date_source is DateSource.FILENAME
    assert len(digest.papers) == 1


def test_impossible_front_matter_date_falls_back() -> None:
    front_matter = "---\ntitle: T\ndate: 2025-13-45\n---\n\n"
    body = _paper(1, "https://arxiv.org/abs/2508.20751")

    digest = parse_digest(_post(body, front_matter), "https://example.test/2025-08-30-p.md?x=1")

    assert digest.date == dt.date(2025, 8, 30)
    assert digest.date_source is DateSource.FILENAME


def test_quoted_date_string_accepted() -> None:
    front_matter = '---\ntitle: T\ndate: "2025-09-23 08:15:00 +0900"\n---\n\n'

    digest = parse_digest(_post("", front_matter), "no-date-here.md")

    assert digest.date == dt.date(2025, 9, 23)
    assert digest.date_source is DateSource.FRONT_MATTER


def test_no_date_anywhere_raises() -> None:
    front_matter = "---\ntitle: T\n---\n\n"

    with pytest.raises(DigestError, match="no date") as caught:
        parse_digest(_post(_paper(1, "https://arxiv.org/abs/2508.20751"), front_matter), "p.md")

    assert str(caught.value).startswith("p.md: no date")


def test_title_falls_back_to_heading_then_file_name() -> None:
    body = "# Hugging Face Daily Papers\n\n" + _paper(1, "https://arxiv.org/abs/2508.20751")
    no_title = "---\ndate: 2025-09-23\n---\n\n"

    from_heading = parse_digest(_post(body, no_title), "x.md")
    from_name = parse_digest(_post("", no_title), "dir/2025-09-23-daily.md")

    assert from_heading.title == "Hugging Face Daily Papers"
    assert from_name.title == "2025-09-23-daily"


def test_unclosed_front_matter_raises() -> None:
    with pytest.raises(DigestError, match="never closed") as caught:
        parse_digest(
            "---\ntitle: T\ndate: 2025-09-23\n\n# 1. [T](https://arxiv.org/abs/x)\n", "u.md"
        )

    assert str(caught.value).startswith("u.md:1: front matter")


# --- errors -----------------------------------------------------------------------------------


def test_heading_without_link_names_line_and_heading() -> None:
    body = _paper(1, "https://arxiv.org/abs/2509.17765") + "# 2. A Paper With No Link\n\nText.\n"
    heading_line = BODY_FIRST_LINE + body[: body.index("# 2.")].count("\n")

    with pytest.raises(DigestError) as caught:
        parse_digest(_post(body), "posts/d.md")

    assert caught.value.line == heading_line
    assert str(caught.value) == (
        f'posts/d.md:{heading_line}: paper heading "2. A Paper With No Link" has no arXiv link; '
        "link the title to the paper: # N. [Title](https://arxiv.org/abs/<id>)"
    )


def test_heading_with_other_site_link_raises() -> None:
    body = _paper(1, "https://arxiv.org/abs/2509.17765") + _paper(2, "https://example.com/x")

    with pytest.raises(DigestError, match="has no arXiv link"):
        parse_digest(_post(body), "d.md")


def test_unparseable_arxiv_id_raises() -> None:
    with pytest.raises(DigestError) as caught:
        parse_digest(_post(_paper(1, "https://arxiv.org/abs/9999.99999999")), "d.md")

    assert caught.value.line == BODY_FIRST_LINE
    assert 'invalid arXiv id in link "https://arxiv.org/abs/9999.99999999"' in str(caught.value)


def test_empty_title_raises() -> None:
    with pytest.raises(DigestError, match="empty title"):
        parse_digest(_post("# 1. [](https://arxiv.org/abs/2509.17765)\n"), "d.md")


def test_not_a_digest_markdown() -> None:
    with pytest.raises(NotADigestError) as caught:
        parse_digest("# Notes\n\n1. first\n2. second\n", "notes.md")

    assert caught.value.line is None
    assert str(caught.value).startswith("notes.md: not a digest")


@pytest.mark.parametrize("data", [b"", b"   \n\n\t", b"\xef\xbb\xbf", "", "\ufeff\n"])
def test_empty_file_raises(data: bytes | str) -> None:
    with pytest.raises(DigestError, match="empty file") as caught:
        parse_digest(data, "empty.md")

    assert (
        str(caught.value) == "empty.md: empty file; give a digest post with front matter and papers"
    )


def test_nul_bytes_rejected_as_binary() -> None:
    data = b"---\ntitle: T\n---\n\x89PNG\x00\x00"

    with pytest.raises(DigestError) as caught:
        parse_digest(data, "image.md")

    offset = data.index(b"\x00")
    assert caught.value.line == 4
    assert str(caught.value) == (
        f"image.md:4: binary data: NUL byte at byte offset {offset}; "
        "give a UTF-8 markdown file, not a binary one"
    )


def test_invalid_utf8_names_line_and_offset() -> None:
    data = b"---\ntitle: T\ndate: 2025-09-23\n---\n\n# 1. [Caf\xe9](https://arxiv.org/abs/2509.17765)\n"
    offset = data.index(b"\xe9")

    with pytest.raises(DigestError) as caught:
        parse_digest(data, "latin1.md")

    assert caught.value.line == 6
    assert str(caught.value) == (
        f"latin1.md:6: invalid UTF-8 byte 0xe9 at byte offset {offset}; save the file as UTF-8"
    )


def test_lone_surrogate_in_str_rejected() -> None:
    with pytest.raises(DigestError, match="invalid UTF-8"):
        parse_digest(_post("# 1. [A\ud800](https://arxiv.org/abs/2509.17765)\n"), "s.md")


def test_oversized_bytes_and_str_rejected() -> None:
    with pytest.raises(DigestError, match="over the limit"):
        parse_digest(b"a" * (MAX_DIGEST_BYTES + 1), "big.md")
    with pytest.raises(DigestError, match="over the limit"):
        parse_digest("가" * (MAX_DIGEST_BYTES // 3 + 1), "big.md")


def test_load_digest_rejects_50mb_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "2025-09-23-huge.md"
    with path.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: no data blocks are written

    tracemalloc.start()
    try:
        with pytest.raises(DigestError) as caught:
            load_digest(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak_bytes < 1024 * 1024
    assert str(caught.value) == (
        f"{path}: file is 52428800 bytes, over the limit of {MAX_DIGEST_BYTES} bytes (1 MiB); "
        "check that this is a digest post; daily digests are under 1 MiB"
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_digest_caps_read_of_sizeless_file() -> None:
    # /dev/zero reports size 0, so only the capped read stops it.
    with pytest.raises(DigestError, match="over the limit"):
        load_digest("/dev/zero")


def test_load_digest_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.md"

    with pytest.raises(DigestError) as caught:
        load_digest(path)

    assert str(caught.value).startswith(f"{path}: cannot read the file: No such file")


def test_load_digest_directory(tmp_path: Path) -> None:
    with pytest.raises(DigestError, match="cannot read the file"):
        load_digest(tmp_path)


def test_error_text_is_one_line() -> None:
    error = DigestError("a.md", "bad\nthing", "fix\r\nit", line=3)

    assert str(error) == "a.md:3: bad thing; fix it"
    assert error.message == "bad thing; fix it"
    assert isinstance(NotADigestError("a.md", "p", "f"), DigestError)
