"""Slack Block Kit payloads of papers, digest headers and notes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.digest.model import Bullet, DateSource, Digest, Link, LinkKind, Paper, Section
from bot.i18n import Translator
from bot.render.limits import slack_mention_problems, slack_payload_problems
from bot.render.slack import render_slack_header, render_slack_note, render_slack_paper

T = Translator("ko")
EN = Translator("en")
ABS = "https://arxiv.org/abs/2509.17765"
ALPHAXIV = "https://www.alphaxiv.org/ko/overview/2509.17765"
HF = "https://huggingface.co/papers/2509.17765"

INTRODUCTION = Section(
    "Introduction",
    "- Goal: ...",
    (
        Bullet("Goal", "본 보고서는 **Qwen3-Omni**를 소개하고자 한다."),
        Bullet("Motivation", "기존 모델은 한계를 가진다."),
        Bullet(None, "라벨 없는 항목이다."),
    ),
)


def make_paper(**overrides: object) -> Paper:
    fields: dict[str, object] = {
        "number": 1,
        "title": "Qwen3-Omni Technical Report",
        "arxiv_id": "2509.17765",
        "arxiv_version": None,
        "links": (Link(LinkKind.ABS, ABS), Link(LinkKind.ALPHAXIV, ALPHAXIV)),
        "sections": (
            INTRODUCTION,
            Section("Method", "Thinker와 Talker로 구성된다."),
            Section("Results", "36개 벤치마크 중 32개에서 SOTA를 달성하였다."),
            Section("Limitations", "정보 부족."),
            Section("Conclusion", "실용적 기반을 마련하였다."),
        ),
    }
    fields.update(overrides)
    return Paper(**fields)  # type: ignore[arg-type]


def make_digest(*papers: Paper, url: str | None = None) -> Digest:
    return Digest(
        date=dt.date(2025, 9, 23),
        title="Daily Papers — 2025-09-23",
        source="2025-09-23-daily-papers-20250923.md",
        date_source=DateSource.FRONT_MATTER,
        papers=papers or (make_paper(),),
        url=url,
    )


def section_texts(payload: dict) -> list[str]:
    return [block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"]


def assert_valid(payload: dict) -> None:
    assert slack_payload_problems(payload) == []
    assert slack_mention_problems(payload) == []
    json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_slack_paper_layout() -> None:
    paper = make_paper()
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert_valid(payload)
    types = [block["type"] for block in payload["blocks"]]
    assert types == ["header", "section", "section", "section", "section", "section", "context"]
    assert payload["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "1. Qwen3-Omni Technical Report",
        "emoji": True,
    }


def test_slack_paper_introduction_bullets() -> None:
    paper = make_paper()
    introduction = section_texts(render_slack_paper(paper, make_digest(paper), T, channel="C01"))[0]
    assert introduction.splitlines() == [
        "• *Goal:* 본 보고서는 *Qwen3-Omni*\u200b를 소개하고자 한다.",
        "• *Motivation:* 기존 모델은 한계를 가진다.",
        "• 라벨 없는 항목이다.",
    ]


def test_slack_paper_sections_bold_heading() -> None:
    paper = make_paper()
    texts = section_texts(render_slack_paper(paper, make_digest(paper), T, channel="C01"))
    assert texts[1] == "*Method*\nThinker와 Talker로 구성된다."
    assert texts[3] == "*Limitations*\n정보 부족."


def test_slack_paper_fallback_text() -> None:
    paper = make_paper(title="A & B <think>")
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert payload["text"] == f"1. A &amp; B &lt;think&gt; — {ABS}"


def test_slack_paper_options() -> None:
    paper = make_paper()
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01", thread_ts="171.5")
    assert payload["channel"] == "C01"
    assert payload["thread_ts"] == "171.5"
    assert payload["unfurl_links"] is False
    assert payload["unfurl_media"] is False


def test_slack_paper_without_thread_has_no_thread_ts() -> None:
    paper = make_paper()
    assert "thread_ts" not in render_slack_paper(paper, make_digest(paper), T, channel="C01")


def test_slack_paper_metadata() -> None:
    paper = make_paper(number=7)
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert payload["metadata"] == {
        "event_type": "paperbot_paper",
        "event_payload": {"digest_date": "2025-09-23", "paper": 7, "arxiv_id": "2509.17765"},
    }


def test_slack_paper_links_context() -> None:
    paper = make_paper(links=(Link(LinkKind.ABS, ABS), Link(LinkKind.HUGGINGFACE, HF)))
    payload = render_slack_paper(paper, make_digest(paper), EN, channel="C01")
    elements = [element["text"] for element in payload["blocks"][-1]["elements"]]
    assert elements == [
        f"<{ABS}|arXiv>",
        "<https://arxiv.org/pdf/2509.17765|PDF>",
        f"<{HF}|Hugging Face>",
    ]


def test_slack_paper_bad_link_left_out() -> None:
    paper = make_paper(links=(Link(LinkKind.ABS, ABS), Link(LinkKind.ALPHAXIV, "javascript:x")))
    payload = render_slack_paper(paper, make_digest(paper), EN, channel="C01")
    elements = [element["text"] for element in payload["blocks"][-1]["elements"]]
    assert len(elements) == 2
    assert all("javascript" not in text for text in elements)


def test_slack_header_truncated_at_150() -> None:
    paper = make_paper(title="Long title words " * 20)
    header = render_slack_paper(paper, make_digest(paper), T, channel="C01")["blocks"][0]
    assert len(header["text"]["text"]) <= 150
    assert header["text"]["text"].endswith("…")
    assert header["text"]["text"].startswith("1. Long title words")


def test_slack_blank_title_uses_paper_number() -> None:
    paper = make_paper(number=3, title="  ")
    header = render_slack_paper(paper, make_digest(paper), T, channel="C01")["blocks"][0]
    assert header["text"]["text"] == "3번 논문"


def test_slack_long_section_split_into_blocks() -> None:
    sentences = " ".join(f"문장 {index}번은 여기서 끝난다." for index in range(400))
    paper = make_paper(sections=(Section("Method", sentences),))
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert_valid(payload)
    texts = section_texts(payload)
    assert len(texts) == 3
    assert all(len(text) <= 3000 for text in texts)
    assert texts[0].startswith("*Method*\n문장 0번은")
    assert texts[0].endswith("끝난다.")
    assert texts[1].startswith("문장 ")


def test_slack_very_long_section_cut_with_read_more() -> None:
    paper = make_paper(sections=(Section("Method", "단어 " * 20_000),))
    digest = make_digest(paper, url="https://example.github.io/2025/09/23/daily.html")
    payload = render_slack_paper(paper, digest, T, channel="C01")
    assert_valid(payload)
    last = section_texts(payload)[-1]
    assert last.endswith("… <https://example.github.io/2025/09/23/daily.html|전체 요약 보기>")


def test_slack_read_more_falls_back_to_abs() -> None:
    paper = make_paper(sections=(Section("Method", "단어 " * 20_000),))
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert section_texts(payload)[-1].endswith(f"<{ABS}|전체 요약 보기>")


def test_slack_many_sections_capped_at_50_blocks() -> None:
    sections = tuple(Section(f"Part {index}", "내용이다. " * 50) for index in range(80))
    paper = make_paper(sections=sections)
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert_valid(payload)
    assert len(payload["blocks"]) == 50
    assert payload["blocks"][-1]["type"] == "context"
    assert section_texts(payload)[-1].startswith("… <")


@pytest.mark.parametrize(
    "mention", ["<!channel>", "<!here>", "<!everyone>", "<@U0123ABC>", "<#C0123>", "<!subteam^S1>"]
)
def test_slack_mentions_in_digest_text_escaped(mention: str) -> None:
    paper = make_paper(
        title=f"Title {mention}",
        sections=(
            Section("Introduction", "", (Bullet(mention, f"see {mention}"),)),
            Section(f"Heading {mention}", f"body {mention} @here"),
        ),
    )
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert_valid(payload)
    assert mention not in json.dumps(payload["text"])
    for text in section_texts(payload):
        assert mention not in text


def test_slack_mention_check_catches_live_mention() -> None:
    payload = {"channel": "C1", "text": "hi <!channel>", "blocks": []}
    assert slack_mention_problems(payload) == ["text: live mention '<!channel>'"]


def test_slack_paper_rejects_empty_channel() -> None:
    paper = make_paper()
    with pytest.raises(ValueError, match="invalid Slack channel"):
        render_slack_paper(paper, make_digest(paper), T, channel=" ")


def test_slack_paper_without_sections() -> None:
    paper = make_paper(sections=())
    payload = render_slack_paper(paper, make_digest(paper), T, channel="C01")
    assert_valid(payload)
    assert [block["type"] for block in payload["blocks"]] == ["header", "context"]


def test_slack_header_message() -> None:
    papers = tuple(make_paper(number=index) for index in range(1, 12))
    payload = render_slack_header(make_digest(*papers), T, channel="C01")
    assert_valid(payload)
    assert payload["blocks"][0]["text"]["text"] == "Daily Papers — 2025-09-23 · 11편"
    assert payload["text"] == "Daily Papers — 2025-09-23 · 11편"
    assert payload["metadata"]["event_payload"] == {
        "digest_date": "2025-09-23",
        "paper": 0,
        "arxiv_id": "",
    }


def test_slack_header_links_digest_url() -> None:
    digest = make_digest(url="https://example.github.io/post.html")
    payload = render_slack_header(digest, EN, channel="C01")
    assert payload["blocks"][-1]["elements"][0]["text"] == (
        "<https://example.github.io/post.html|Read the full summary>"
    )


def test_slack_header_blank_title_uses_date() -> None:
    digest = Digest(
        date=dt.date(2025, 9, 23), title="", source="x", date_source=DateSource.FILENAME
    )
    payload = render_slack_header(digest, EN, channel="C01")
    assert payload["text"] == "Daily Papers — 2025-09-23 · 0 papers"


def test_slack_note_escaped() -> None:
    payload = render_slack_note("오늘은 없습니다 <!here> & 끝", channel="C01")
    assert_valid(payload)
    assert payload["text"] == "오늘은 없습니다 &lt;!here&gt; &amp; 끝"
    assert section_texts(payload) == [payload["text"]]


@pytest.mark.parametrize("text", [" \n", "\x1b", "\x00\x07 "])
def test_slack_note_rejects_empty_text(text: str) -> None:
    with pytest.raises(ValueError, match="empty Slack note"):
        render_slack_note(text, channel="C01")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"channel": "C1", "text": ""}, "text: empty"),
        ({"channel": "", "text": "x"}, "channel: empty"),
        ({"channel": "C1", "text": "x" * 40_001}, "text: 40001 characters, maximum 40000"),
        (
            {"channel": "C1", "text": "x", "blocks": [{"type": "divider"}] * 51},
            "blocks: 51 blocks, maximum 50",
        ),
        (
            {
                "channel": "C1",
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            "blocks[0].text.text: 151 characters, maximum 150",
        ),
        (
            {
                "channel": "C1",
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
            },
            "blocks[0].text.type: expected plain_text, got 'mrkdwn'",
        ),
        (
            {
                "channel": "C1",
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
            },
            "blocks[0].text.text: 3001 characters, maximum 3000",
        ),
        (
            {
                "channel": "C1",
                "text": "x",
                "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            },
            "blocks[0].elements: 11 elements, maximum 10",
        ),
        (
            {
                "channel": "C1",
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "b" * 76},
                                "url": "https://a.b",
                            }
                        ],
                    }
                ],
            },
            "blocks[0].elements[0].text.text: 76 characters, maximum 75",
        ),
        (
            {"channel": "C1", "text": "x", "blocks": [{"type": "video"}]},
            "blocks[0].type: unsupported block {'type': 'video'}",
        ),
        ({"channel": "C1", "text": "a\ud800"}, "text: contains a lone surrogate"),
        ({"channel": "C1", "text": "x", "metadata": {}}, "metadata.event_type: missing"),
    ],
)
def test_slack_payload_problems_reports(payload: dict, problem: str) -> None:
    assert problem in slack_payload_problems(payload)
