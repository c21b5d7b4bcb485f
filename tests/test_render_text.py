"""Grapheme clusters, escaping, markdown conversion and cutting text to a limit."""

from __future__ import annotations

import pytest

from bot.render.markdown import DISCORD, SLACK, block_pieces, plain
from bot.render.pieces import Piece, chunk, fit, literal, render, split
from bot.render.text import (
    ZWSP,
    DiscordCodeEscaper,
    DiscordEscaper,
    SlackEscaper,
    clean_text,
    escape_slack,
    escaped,
    graphemes,
    is_web_url,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
FLAG_KR = "\U0001f1f0\U0001f1f7"
FLAG_JP = "\U0001f1ef\U0001f1f5"
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"
HEART = "\u2764\ufe0f"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("한국어", ["한", "국", "어"]),
        (FAMILY + "x", [FAMILY, "x"]),
        (FLAG_KR + FLAG_JP + "\U0001f1fa", [FLAG_KR, FLAG_JP, "\U0001f1fa"]),
        ("e\u0301a", ["e\u0301", "a"]),
        (HEART + THUMBS_MEDIUM, [HEART, THUMBS_MEDIUM]),
        ("\u1100\u1161\u11a8a", ["\u1100\u1161\u11a8", "a"]),
        (ENGLAND + "z", [ENGLAND, "z"]),
        ("", []),
    ],
)
def test_graphemes_cluster_boundaries(text: str, expected: list[str]) -> None:
    assert graphemes(text) == expected


def test_clean_text_pairs_and_replaces_surrogates() -> None:
    assert clean_text("a\ud83d\ude00b") == "a\U0001f600b"
    assert clean_text("a\ud800b") == "a\ufffdb"


def test_clean_text_drops_controls_keeps_newlines() -> None:
    assert clean_text("a\r\nb\rc\x00d\x1be\tf") == "a\nb\ncde\tf"


def test_escape_slack_entities() -> None:
    assert escape_slack("a & <b> c") == "a &amp; &lt;b&gt; c"


@pytest.mark.parametrize(
    "mention", ["<!channel>", "<!here>", "<!everyone>", "<@U0123>", "<#C0123>", "<!subteam^S1>"]
)
def test_slack_escaper_breaks_bracket_mentions(mention: str) -> None:
    result = escaped(mention, SlackEscaper())
    assert "<" not in result
    assert result.startswith("&lt;")


@pytest.mark.parametrize("word", ["@here", "@channel", "@everyone"])
def test_slack_escaper_breaks_plain_mass_mentions(word: str) -> None:
    assert escaped(f"hi {word}!", SlackEscaper()) == f"hi @{ZWSP}{word[1:]}!"


def test_discord_escaper_inline_markup() -> None:
    assert escaped("a*b_c~d|e`f\\g[h]", DiscordEscaper(), at_line_start=False) == (
        "a\\*b\\_c\\~d\\|e\\`f\\\\g\\[h\\]"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# head", "\\# head"),
        ("- item", "\\- item"),
        ("> quote", "\\> quote"),
        ("12. x", "12\\. x"),
    ],
)
def test_discord_escaper_line_start_markup(line: str, expected: str) -> None:
    assert escaped(line, DiscordEscaper(), at_line_start=True) == expected
    assert escaped(line, DiscordEscaper(), at_line_start=False) == line


@pytest.mark.parametrize(
    ("mention", "expected"),
    [
        ("@everyone", f"@{ZWSP}everyone"),
        ("@here", f"@{ZWSP}here"),
        ("<@123>", "\\<@123>"),
        ("<@&123>", "\\<@&123>"),
        ("<#123>", "\\<#123>"),
    ],
)
def test_discord_escaper_neutralizes_mentions(mention: str, expected: str) -> None:
    assert escaped(mention, DiscordEscaper(), at_line_start=False) == expected


def test_discord_code_escaper_breaks_mentions_and_backticks() -> None:
    result = escaped("<@1> @here `x`", DiscordCodeEscaper())
    assert result == f"<{ZWSP}@1> @{ZWSP}here \u02cbx\u02cb"


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://arxiv.org/abs/2509.17765", True),
        ("http://a.b/c?d=1&e=2", True),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://a.b/c d", False),
        ("", False),
    ],
)
def test_is_web_url(url: str, valid: bool) -> None:
    assert is_web_url(url) is valid


def test_plain_strips_inline_markup() -> None:
    assert plain("**Qwen3** `x` [t](https://a.b) <think> V\\*") == "Qwen3 x t <think> V*"


def test_markdown_slack_inline_conversion() -> None:
    pieces = block_pieces("**b** *e* _u_ `c` ~~s~~ [t](https://a.b/?x=1&y=2)", SLACK)
    assert render(pieces, SLACK.escapers) == "*b* _e_ _u_ `c` ~s~ <https://a.b/?x=1&amp;y=2|t>"


def test_markdown_discord_inline_conversion() -> None:
    pieces = block_pieces("**b** *e* _u_ `c` ~~s~~ [t](https://a.b/x)", DISCORD)
    assert render(pieces, DISCORD.escapers) == "**b** *e* *u* `c` ~~s~~ [t](https://a.b/x)"


def test_markdown_slack_link_label_escaped() -> None:
    pieces = block_pieces("[a|b<c>](https://a.b/p|q)", SLACK)
    assert render(pieces, SLACK.escapers) == "<https://a.b/p%7Cq|a|b&lt;c&gt;>"


def test_markdown_discord_link_label_escaped() -> None:
    pieces = block_pieces("[a\\]b](https://a.b/(x))", DISCORD)
    assert render(pieces, DISCORD.escapers) == "[a\\]b](https://a.b/%28x%29)"


def test_markdown_non_web_link_shown_as_label() -> None:
    pieces = block_pieces("[click](ftp://a.b/x)", SLACK)
    assert render(pieces, SLACK.escapers) == "click"


def test_markdown_script_link_stays_text() -> None:
    text = render(block_pieces("[click](javascript:alert(1))", SLACK), SLACK.escapers)
    assert text == "[click](javascript:alert(1))"


@pytest.mark.parametrize("tag", ["<think>", "<Parallel>", "<Silence>", "</Path>"])
def test_markdown_html_like_tags_stay_visible(tag: str) -> None:
    slack = render(block_pieces(f"uses {tag} tokens", SLACK), SLACK.escapers)
    discord = render(block_pieces(f"uses {tag} tokens", DISCORD), DISCORD.escapers)
    assert escape_slack(tag) in slack
    assert tag.lstrip("<") in discord
    assert "\\<" in discord


def test_markdown_html_block_stays_visible() -> None:
    text = render(block_pieces("<Silence>\n\nnext", SLACK), SLACK.escapers)
    assert text == "&lt;Silence&gt;\n\nnext"


def test_markdown_backslash_escape_becomes_literal() -> None:
    assert render(block_pieces("V\\* and a\\_b", SLACK), SLACK.escapers) == "V* and a_b"
    assert render(block_pieces("V\\* and a\\_b", DISCORD), DISCORD.escapers) == "V\\* and a\\_b"


def test_markdown_slack_bold_next_to_hangul_padded() -> None:
    text = render(block_pieces("**Qwen**는", SLACK), SLACK.escapers)
    assert text == f"*Qwen*{ZWSP}는"


def test_markdown_lists_and_paragraphs() -> None:
    markdown = "intro\n\n- one\n- **two**\n  1. sub\n\nafter"
    text = render(block_pieces(markdown, SLACK), SLACK.escapers)
    assert text == "intro\n• one\n• *two*\n    1. sub\n\nafter"


def test_markdown_code_block_kept_and_escaped() -> None:
    text = render(block_pieces("```\na < b & c\n```", SLACK), SLACK.escapers)
    assert text == "```\na &lt; b &amp; c\n```"


def test_markdown_table_rows() -> None:
    text = render(block_pieces("| a | b |\n|---|---|\n| 1 | 2 |", DISCORD), DISCORD.escapers)
    assert text == "a | b\n1 | 2"


def _plain(text: str) -> list[Piece]:
    return [Piece(raw=text)]


def test_fit_returns_short_text_unchanged() -> None:
    assert fit(_plain("short"), 10, SLACK.escapers, more=" more") == "short"


def test_fit_cuts_at_korean_sentence_end() -> None:
    text = "첫 문장이다. 두 번째 문장은 조금 더 길다. 세 번째 문장은 잘려야 한다."
    result = fit(_plain(text), 30, SLACK.escapers)
    assert result == "첫 문장이다. 두 번째 문장은 조금 더 길다.…"


def test_fit_cuts_at_word_when_no_sentence_end() -> None:
    result = fit(_plain("alpha beta gamma delta epsilon"), 20, SLACK.escapers)
    assert result == "alpha beta gamma…"
    assert len(result) <= 20


def test_fit_cuts_text_without_spaces_between_syllables() -> None:
    result = fit(_plain("가" * 100), 10, SLACK.escapers)
    assert result == "가" * 9 + "…"


def test_fit_never_splits_emoji_sequence() -> None:
    result = fit(_plain(FAMILY * 10), 20, SLACK.escapers)
    body = result.removesuffix("…")
    assert len(result) <= 20
    assert body == FAMILY * (len(body) // len(FAMILY))


def test_fit_never_splits_flag_pair() -> None:
    result = fit(_plain(FLAG_KR * 10), 8, SLACK.escapers)
    assert result == FLAG_KR * 3 + "…"


def test_fit_never_splits_escape_sequence() -> None:
    result = fit(_plain("&" * 10), 12, SLACK.escapers)
    assert result == "&amp;&amp;…"


def test_fit_appends_more_link() -> None:
    result = fit(_plain("word " * 40), 60, SLACK.escapers, more=" <https://a.b|more>")
    assert result.endswith("… <https://a.b|more>")
    assert len(result) <= 60


def test_fit_drops_more_link_when_no_room() -> None:
    result = fit(_plain("word " * 40), 20, SLACK.escapers, more=" <https://a.b|more>")
    assert result.endswith("…")
    assert "https" not in result


def test_fit_keeps_markers_closed() -> None:
    pieces = block_pieces("**" + "굵은 글씨 " * 20 + "끝**", SLACK)
    result = fit(pieces, 30, SLACK.escapers)
    assert result.startswith("*")
    assert result.endswith("*…")
    assert len(result) <= 30


def test_fit_keeps_link_target_whole() -> None:
    pieces = block_pieces("[" + "label " * 30 + "](https://a.b/c)", SLACK)
    result = fit(pieces, 40, SLACK.escapers)
    assert result.startswith("<https://a.b/c|")
    assert result.endswith(">…")


def test_fit_drops_cluster_longer_than_limit() -> None:
    zalgo = "a" + "\u0301" * 50
    result = fit(_plain(zalgo + " b"), 10, SLACK.escapers)
    assert "\u0301" not in result
    assert len(result) <= 10


def test_split_prefers_line_break() -> None:
    pieces = [Piece(raw="first line here"), literal("\n"), Piece(raw="second line is long")]
    head, rest = split(pieces, 25, SLACK.escapers)
    assert render(head, SLACK.escapers).rstrip() == "first line here"
    assert render(rest, SLACK.escapers) == "second line is long"


def test_chunk_splits_across_chunks_without_loss() -> None:
    sentences = [f"Sentence {index} ends here." for index in range(30)]
    chunks = chunk(_plain(" ".join(sentences)), SLACK.escapers, chunk_limit=100, max_chunks=10)
    assert all(len(text) <= 100 for text in chunks)
    assert " ".join(chunks).split() == " ".join(sentences).split()


def test_chunk_cuts_last_chunk_with_more() -> None:
    chunks = chunk(
        _plain("word " * 200), SLACK.escapers, chunk_limit=100, max_chunks=2, more=" more"
    )
    assert len(chunks) == 2
    assert chunks[-1].endswith("… more")


def test_chunk_respects_total_limit() -> None:
    chunks = chunk(
        _plain("word " * 200), SLACK.escapers, chunk_limit=100, max_chunks=5, total_limit=150
    )
    assert sum(len(text) for text in chunks) <= 150


def test_discord_rest_rescaped_at_new_line() -> None:
    chunks = chunk(_plain("aaaa - bb"), DISCORD.escapers, chunk_limit=5, max_chunks=3)
    assert chunks == ["aaaa", "\\- bb"]
