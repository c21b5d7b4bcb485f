"""Every paper of the real digests renders within every Slack and Discord limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.digest.model import Digest
from bot.i18n import Translator
from bot.render.discord import render_discord_header, render_discord_paper
from bot.render.limits import (
    discord_mention_problems,
    discord_payload_problems,
    slack_mention_problems,
    slack_payload_problems,
)
from bot.render.slack import render_slack_header, render_slack_paper
from tests.conftest import EXAMPLE_DIGEST

parser = pytest.importorskip("bot.digest.parser", reason="the digest parser is not available")
errors = pytest.importorskip("bot.digest.errors", reason="the digest errors are not available")

LOCALES = [Translator("ko"), Translator("en")]


def render_all(digest: Digest, t: Translator) -> list[str]:
    """Render the header and every paper on both platforms; return every problem found."""
    problems = []
    slack = [render_slack_header(digest, t, channel="C01")]
    slack += [render_slack_paper(paper, digest, t, channel="C01") for paper in digest.papers]
    discord = [render_discord_header(digest, t, nonce="n")]
    discord += [render_discord_paper(paper, digest, t, nonce="n") for paper in digest.papers]
    for index, payload in enumerate(slack):
        problems += [f"slack {index}: {p}" for p in slack_payload_problems(payload)]
        problems += [f"slack {index}: {p}" for p in slack_mention_problems(payload)]
    for index, payload in enumerate(discord):
        problems += [f"discord {index}: {p}" for p in discord_payload_problems(payload)]
        problems += [f"discord {index}: {p}" for p in discord_mention_problems(payload)]
    return problems


def test_reference_digest_renders_within_limits() -> None:
    digest = parser.load_digest(EXAMPLE_DIGEST)
    assert len(digest.papers) == 11
    for t in LOCALES:
        assert render_all(digest, t) == []


def test_reference_digest_first_paper_content() -> None:
    digest = parser.load_digest(EXAMPLE_DIGEST)
    payload = render_slack_paper(digest.papers[0], digest, LOCALES[0], channel="C01")
    assert payload["blocks"][0]["text"]["text"] == "1. Qwen3-Omni Technical Report"
    introduction = payload["blocks"][1]["text"]["text"]
    assert introduction.startswith("• *Goal:* 본 보고서는")
    assert payload["text"] == "1. Qwen3-Omni Technical Report — https://arxiv.org/abs/2509.17765"


def seed_blog_posts(shared_digests: Path) -> list[Path]:
    return sorted((shared_digests / "seed-blog").glob("*.md"))


def test_seed_blog_corpus_renders_within_limits(shared_digests: Path) -> None:
    rendered = 0
    for path in seed_blog_posts(shared_digests):
        try:
            digest = parser.load_digest(path)
        except errors.DigestError:
            continue
        for t in LOCALES:
            assert render_all(digest, t) == [], path.name
        rendered += len(digest.papers)
    assert rendered > 100


def test_seed_blog_tag_tokens_stay_visible(shared_digests: Path) -> None:
    path = shared_digests / "seed-blog" / "2025-09-10-daily-papers-20250910.md"
    digest = parser.load_digest(path)
    slack_texts = [
        block["text"]["text"]
        for paper in digest.papers
        for block in render_slack_paper(paper, digest, LOCALES[0], channel="C01")["blocks"]
        if block["type"] == "section"
    ]
    assert any("&lt;Parallel&gt;" in text for text in slack_texts)
