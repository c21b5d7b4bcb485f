"""Discord create-message payloads of papers, digest headers and notes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.digest.model import Bullet, DateSource, Digest, Link, LinkKind, Paper, Section
from bot.i18n import Translator
from bot.render.discord import render_discord_header, render_discord_note, render_discord_paper
from bot.render.limits import discord_mention_problems, discord_payload_problems

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
            Section("Limitations", "정보 부족."),
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


def embed_text_length(embed: dict) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    return total + sum(len(item["name"]) + len(item["value"]) for item in embed.get("fields", []))


def assert_valid(payload: dict) -> None:
    assert discord_payload_problems(payload) == []
    assert discord_mention_problems(payload) == []
    json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_discord_paper_embed() -> None:
    paper = make_paper()
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    (embed,) = payload["embeds"]
    assert embed["title"] == "1. Qwen3-Omni Technical Report"
    assert embed["url"] == ABS
    assert embed["description"] == (
        "• **Goal:** 본 보고서는 **Qwen3-Omni**를 소개하고자 한다.\n• 라벨 없는 항목이다."
    )
    assert embed["fields"] == [
        {"name": "Method", "value": "Thinker와 Talker로 구성된다."},
        {"name": "Limitations", "value": "정보 부족."},
    ]
    assert embed["footer"] == {"text": "Daily Papers — 2025-09-23"}


def test_discord_paper_allowed_mentions_always_sent() -> None:
    paper = make_paper()
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert payload["allowed_mentions"] == {"parse": []}
    assert "nonce" not in payload
    assert "enforce_nonce" not in payload


def test_discord_paper_nonce_enforced() -> None:
    paper = make_paper()
    payload = render_discord_paper(paper, make_digest(paper), T, nonce="20250923-1-abc")
    assert payload["nonce"] == "20250923-1-abc"
    assert payload["enforce_nonce"] is True


@pytest.mark.parametrize("nonce", ["", "x" * 26])
def test_discord_paper_rejects_bad_nonce(nonce: str) -> None:
    paper = make_paper()
    with pytest.raises(ValueError, match="invalid Discord nonce"):
        render_discord_paper(paper, make_digest(paper), T, nonce=nonce)


def test_discord_paper_link_buttons() -> None:
    paper = make_paper(
        links=(
            Link(LinkKind.ABS, ABS),
            Link(LinkKind.ALPHAXIV, ALPHAXIV),
            Link(LinkKind.HUGGINGFACE, HF),
        )
    )
    payload = render_discord_paper(paper, make_digest(paper), EN)
    (row,) = payload["components"]
    assert row["type"] == 1
    assert [(button["type"], button["style"]) for button in row["components"]] == [(2, 5)] * 4
    assert [(button["label"], button["url"]) for button in row["components"]] == [
        ("arXiv", ABS),
        ("PDF", "https://arxiv.org/pdf/2509.17765"),
        ("alphaXiv", ALPHAXIV),
        ("Hugging Face", HF),
    ]


def test_discord_paper_footer_adds_missing_date() -> None:
    paper = make_paper()
    digest = Digest(
        date=dt.date(2025, 9, 23),
        title="Arxiv digest",
        source="x",
        date_source=DateSource.FILENAME,
        papers=(paper,),
    )
    payload = render_discord_paper(paper, digest, T)
    assert payload["embeds"][0]["footer"]["text"] == "Arxiv digest · 2025-09-23"


def test_discord_title_truncated_at_256() -> None:
    paper = make_paper(title="Long title words " * 30)
    title = render_discord_paper(paper, make_digest(paper), T)["embeds"][0]["title"]
    assert len(title) <= 256
    assert title.endswith("…")


def test_discord_title_markdown_escaped() -> None:
    paper = make_paper(title="V\\* and a_b <think>")
    title = render_discord_paper(paper, make_digest(paper), T)["embeds"][0]["title"]
    assert title == "1. V\\* and a\\_b \\<think>"


def test_discord_description_cut_at_4096() -> None:
    introduction = Section("Introduction", "긴 문장이다. " * 1000)
    paper = make_paper(sections=(introduction,))
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    description = payload["embeds"][0]["description"]
    assert len(description) <= 4096
    assert description.endswith(f"… [전체 요약 보기]({ABS})")
    assert "긴 문장이다.…" in description


def test_discord_long_section_split_into_fields() -> None:
    body = " ".join(f"문장 {index}번이다." for index in range(150))
    paper = make_paper(sections=(INTRODUCTION, Section("Method", body)))
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    fields = payload["embeds"][0]["fields"]
    assert len(fields) == 2
    assert fields[0]["name"] == "Method"
    assert fields[1]["name"] == "\u200b"
    assert " ".join(item["value"] for item in fields).split() == body.split()


def test_discord_total_6000_cuts_longest_first() -> None:
    long_body = "아주 긴 방법 설명이다. " * 600
    sections = (
        Section("Introduction", "긴 소개 문장이다. " * 400),
        Section("Method", long_body),
        Section("Results", "짧은 결과."),
        Section("Limitations", "정보 부족."),
    )
    paper = make_paper(sections=sections)
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    embed = payload["embeds"][0]
    assert embed_text_length(embed) <= 6000
    names = [item["name"] for item in embed["fields"]]
    assert names[0] == "Method"
    assert "Results" in names
    assert "Limitations" in names
    values = {item["name"]: item["value"] for item in embed["fields"]}
    assert values["Results"] == "짧은 결과."
    assert values["Limitations"] == "정보 부족."
    assert embed_text_length(embed) > 5000


def test_discord_many_sections_capped_at_25_fields() -> None:
    sections = tuple(Section(f"Part {index}", "내용이다. " * 30) for index in range(40))
    paper = make_paper(sections=sections)
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    fields = payload["embeds"][0]["fields"]
    assert len(fields) == 25
    assert fields[-1]["name"] == "…"
    assert fields[-1]["value"] == f"[전체 요약 보기]({ABS})"


def test_discord_empty_section_body_gets_placeholder() -> None:
    paper = make_paper(sections=(INTRODUCTION, Section("Limitations", "")))
    payload = render_discord_paper(paper, make_digest(paper), T)
    assert_valid(payload)
    assert payload["embeds"][0]["fields"] == [{"name": "Limitations", "value": "\u200b"}]


@pytest.mark.parametrize(
    "mention", ["@everyone", "@here", "<@123>", "<@&456>", "<#789>", "<@!123>"]
)
def test_discord_mentions_neutralized(mention: str) -> None:
    paper = make_paper(
        title=f"Title {mention}",
        sections=(
            Section("Introduction", "", (Bullet(mention, f"see {mention}"),)),
            Section(f"Heading {mention}", f"body {mention}\n\n```\ncode {mention}\n```"),
        ),
    )
    digest = Digest(
        date=dt.date(2025, 9, 23),
        title=f"Digest {mention}",
        source="x",
        date_source=DateSource.FILENAME,
        papers=(paper,),
    )
    payload = render_discord_paper(paper, digest, T)
    assert_valid(payload)
    assert mention not in json.dumps(payload, ensure_ascii=False).replace("\\\\<", "")


def test_discord_mention_check_catches_live_mention() -> None:
    payload = {"content": "hi @everyone", "allowed_mentions": {"parse": []}}
    assert discord_mention_problems(payload) == ["content: live mention '@everyone'"]


def test_discord_mention_check_requires_allowed_mentions() -> None:
    problems = discord_mention_problems({"content": "hi"})
    assert problems == ["allowed_mentions: expected {'parse': []}, got None"]


def test_discord_header_message() -> None:
    papers = tuple(make_paper(number=index) for index in range(1, 12))
    payload = render_discord_header(
        make_digest(*papers, url="https://example.github.io/p"), T, nonce="h1"
    )
    assert_valid(payload)
    assert payload["embeds"] == [
        {"title": "Daily Papers — 2025-09-23 · 11편", "url": "https://example.github.io/p"}
    ]
    assert payload["nonce"] == "h1"


def test_discord_note_escaped() -> None:
    payload = render_discord_note("오늘은 없습니다 @everyone *별*", nonce="n1")
    assert_valid(payload)
    assert payload["content"] == "오늘은 없습니다 @\u200beveryone \\*별\\*"
    assert payload["enforce_nonce"] is True


def test_discord_note_cut_at_2000() -> None:
    payload = render_discord_note("단어 " * 2000)
    assert_valid(payload)
    assert len(payload["content"]) <= 2000
    assert payload["content"].endswith("…")


def test_discord_note_rejects_empty_text() -> None:
    with pytest.raises(ValueError, match="empty Discord note"):
        render_discord_note("")


def _embed_payload(**embed: object) -> dict:
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({}, "message: empty, needs content, embeds or components"),
        ({"content": "c" * 2001}, "content: 2001 characters, maximum 2000"),
        ({"embeds": [{"title": "t"}] * 11}, "embeds: 11 embeds, maximum 10"),
        (_embed_payload(title="t" * 257), "embeds[0].title: 257 characters, maximum 256"),
        (
            _embed_payload(description="d" * 4097),
            "embeds[0].description: 4097 characters, maximum 4096",
        ),
        (
            _embed_payload(fields=[{"name": "n", "value": "v"}] * 26),
            "embeds[0].fields: 26 fields, maximum 25",
        ),
        (
            _embed_payload(fields=[{"name": "n" * 257, "value": "v"}]),
            "embeds[0].fields[0].name: 257 characters, maximum 256",
        ),
        (
            _embed_payload(fields=[{"name": "n", "value": "v" * 1025}]),
            "embeds[0].fields[0].value: 1025 characters, maximum 1024",
        ),
        (_embed_payload(fields=[{"name": "n", "value": " "}]), "embeds[0].fields[0].value: empty"),
        (
            _embed_payload(footer={"text": "f" * 2049}),
            "embeds[0].footer.text: 2049 characters, maximum 2048",
        ),
        (
            _embed_payload(author={"name": "a" * 257}),
            "embeds[0].author.name: 257 characters, maximum 256",
        ),
        (
            _embed_payload(description="d" * 4000, fields=[{"name": "n", "value": "v" * 1000}] * 2),
            "embeds: 6002 characters of text in all embeds, maximum 6000",
        ),
        ({"content": "c", "nonce": "n" * 26}, "nonce: 26 characters, maximum 25"),
        ({"content": "c", "enforce_nonce": True}, "enforce_nonce: set without a nonce"),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 5, "label": "l" * 81, "url": "https://a.b"}
                        ],
                    }
                ]
            },
            "components[0].components[0].label: 81 characters, maximum 80",
        ),
        (
            {"components": [{"type": 1, "components": [{"type": 2, "style": 5, "label": "l"}]}]},
            "components[0].components[0].url: expected a string, got NoneType",
        ),
        ({"components": [{"type": 2}]}, "components[0].type: expected 1 (action row)"),
    ],
)
def test_discord_payload_problems_reports(payload: dict, problem: str) -> None:
    assert problem in discord_payload_problems(payload)
