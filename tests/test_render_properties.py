"""Property tests: no input, however long or strange, yields a payload over a platform limit."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest.model import Bullet, DateSource, Digest, Link, LinkKind, Paper, Section
from bot.i18n import Translator
from bot.render.discord import render_discord_note, render_discord_paper
from bot.render.limits import (
    discord_mention_problems,
    discord_payload_problems,
    slack_mention_problems,
    slack_payload_problems,
)
from bot.render.markdown import DISCORD, SLACK
from bot.render.pieces import ELLIPSIS, Escapers, Piece, fit, render, split
from bot.render.slack import render_slack_note, render_slack_paper
from bot.render.text import PlainEscaper, clean_text, graphemes

T = Translator("ko")
PLAIN = Escapers(text=PlainEscaper(), code=PlainEscaper())
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fragments that stress escaping, markdown and cluster boundaries, mixed with any text.
FRAGMENTS = [
    "<!channel>",
    "<!here>",
    "<@U01>",
    "<#C01>",
    "<!subteam^S1>",
    "@everyone",
    "@here",
    "<@123>",
    "<@&45>",
    "<#67>",
    "**",
    "*",
    "_",
    "~~",
    "`",
    "```",
    "\\*",
    "[x](https://a.b)",
    "<think>",
    "&amp;",
    "&",
    "<",
    ">",
    "|",
    "# ",
    "- ",
    "> ",
    "1. ",
    "\n",
    "\n\n",
    " ",
    "다.",
    "한국어 문장이다. ",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1f0\U0001f1f7",
    "e\u0301",
    "\u2764\ufe0f",
    "\U0001f44d\U0001f3fd",
]
text_part = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40))
markdown = st.one_of(
    st.lists(text_part, max_size=30).map("".join),
    st.builds(lambda part, count: part * count, text_part, st.integers(0, 2000)).map(
        lambda text: text[:20_000]
    ),
)
short_markdown = st.lists(text_part, max_size=8).map("".join)

sections = st.lists(
    st.builds(
        Section,
        heading=short_markdown,
        markdown=markdown,
        bullets=st.lists(
            st.builds(Bullet, label=st.none() | short_markdown, markdown=markdown), max_size=4
        ).map(tuple),
    ),
    max_size=40,
).map(tuple)

papers = st.builds(
    Paper,
    number=st.integers(1, 999),
    title=markdown,
    arxiv_id=st.sampled_from(["2509.17765", "hep-th/9901001"]),
    arxiv_version=st.none(),
    links=st.just((Link(LinkKind.ALPHAXIV, "https://www.alphaxiv.org/ko/overview/2509.17765"),)),
    sections=sections,
)


def make_digest(paper: Paper, title: str) -> Digest:
    return Digest(
        date=dt.date(2025, 9, 23),
        title=title,
        source="x.md",
        date_source=DateSource.FILENAME,
        papers=(paper,),
    )


def assert_no_lone_surrogate(payload: dict) -> None:
    json.dumps(payload, ensure_ascii=False).encode("utf-8")


@SETTINGS
@given(paper=papers, title=short_markdown)
def test_slack_payload_within_limits(paper: Paper, title: str) -> None:
    payload = render_slack_paper(paper, make_digest(paper, title), T, channel="C01")
    assert slack_payload_problems(payload) == []
    assert slack_mention_problems(payload) == []
    assert payload["text"].strip()
    assert_no_lone_surrogate(payload)


@SETTINGS
@given(paper=papers, title=short_markdown)
def test_discord_payload_within_limits(paper: Paper, title: str) -> None:
    payload = render_discord_paper(paper, make_digest(paper, title), T, nonce="n")
    assert discord_payload_problems(payload) == []
    assert discord_mention_problems(payload) == []
    assert_no_lone_surrogate(payload)


@SETTINGS
# A note of only control characters is rejected as empty, which is tested on its own.
@given(text=markdown.filter(lambda text: clean_text(text).strip()))
def test_notes_within_limits(text: str) -> None:
    slack = render_slack_note(text, channel="C01")
    discord = render_discord_note(text)
    assert slack_payload_problems(slack) == []
    assert slack_mention_problems(slack) == []
    assert discord_payload_problems(discord) == []
    assert discord_mention_problems(discord) == []


def cluster_boundaries(text: str) -> set[int]:
    offsets = {0}
    position = 0
    for cluster in graphemes(text):
        position += len(cluster)
        offsets.add(position)
    return offsets


@SETTINGS
@given(text=st.lists(text_part, max_size=60).map("".join), limit=st.integers(1, 300))
def test_split_cuts_between_clusters(text: str, limit: int) -> None:
    for escapers in (PLAIN, SLACK.escapers, DISCORD.escapers):
        head, _ = split([Piece(raw=text)], limit, escapers)
        head_text = head[0].raw if head else ""
        boundaries = cluster_boundaries(text)
        assert text.startswith(head_text)
        assert any(
            end >= len(head_text) and not text[len(head_text) : end].strip() for end in boundaries
        ), f"cut after {len(head_text)} characters is inside a cluster"


@SETTINGS
@given(text=st.lists(text_part, max_size=60).map("".join), limit=st.integers(1, 300))
def test_fit_within_limit(text: str, limit: int) -> None:
    for escapers in (PLAIN, SLACK.escapers, DISCORD.escapers):
        result = fit([Piece(raw=text)], limit, escapers, more=" <https://a.b|more>")
        assert len(result) <= limit
        if len(render([Piece(raw=text)], escapers)) > limit:
            assert ELLIPSIS in result or result == ""
