"""`paperbot preview`: one self-contained HTML page that shows every post of a digest.

Each paper gets a row with a Slack Block Kit look-alike and a Discord embed look-alike,
drawn from the exact payloads that delivery would send, and the length of every part
against its platform limit. The page has inline CSS only and a Content-Security-Policy
that forbids scripts and every network load, so it opens offline and cannot call out.

All digest text is HTML-escaped: `<think>` or `&` in a summary stays visible text.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import __version__
from bot.clock import Clock, SystemClock
from bot.config import ChannelConfig, Config, Platform
from bot.config_loader import build_config
from bot.digest.model import Digest
from bot.i18n import Translator, translator
from bot.ledger import HEADER_PAPER
from bot.platforms.base import MessagePayload
from bot.posting import load_requested_digest, plan_messages
from bot.render.limits import (
    DISCORD_AUTHOR_MAX,
    DISCORD_BUTTON_LABEL_MAX,
    DISCORD_BUTTON_URL_MAX,
    DISCORD_CONTENT_MAX,
    DISCORD_EMBED_DESCRIPTION_MAX,
    DISCORD_EMBED_MAX_FIELDS,
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
    DISCORD_FIELD_NAME_MAX,
    DISCORD_FIELD_VALUE_MAX,
    DISCORD_FOOTER_MAX,
    DISCORD_LINK_BUTTON_STYLE,
    SLACK_BUTTON_TEXT_MAX,
    SLACK_BUTTON_URL_MAX,
    SLACK_CONTEXT_MAX_ELEMENTS,
    SLACK_FALLBACK_TEXT_MAX,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_TEXT_MAX,
    discord_mention_problems,
    discord_payload_problems,
    slack_mention_problems,
    slack_payload_problems,
)
from bot.render.text import is_web_url

_log = logging.getLogger(__name__)

# A part whose length is above this share of its limit is highlighted on the page.
NEAR_LIMIT_SHARE = 0.9

# Channel ids of the stand-in channel of a platform that the config does not use.
# The renderers need an id; it never leaves the page.
_STAND_IN_IDS = {Platform.SLACK: "C0PREVIEW", Platform.DISCORD: "0"}
_PLATFORM_ORDER = (Platform.SLACK, Platform.DISCORD)


class PreviewOutputError(Exception):
    """The preview page could not be written to the requested path."""


# Part lengths ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """The length of one payload part against its platform limit.

    `part` is the Translator key suffix of the part's label, so `slack_section` is shown
    as "section text". `items` marks a count of elements rather than characters.
    """

    part: str
    count: int
    limit: int
    items: bool = False

    @property
    def level(self) -> str:
        """Return "over" above the limit, "near" above 90% of it, else "ok"."""
        if self.count > self.limit:
            return "over"
        if self.count > self.limit * NEAR_LIMIT_SHARE:
            return "near"
        return "ok"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count_html(count: Count, t: Translator) -> str:
    key = "preview_count_items" if count.items else "preview_count"
    label = t(key, part=t(f"preview_part_{count.part}"), count=count.count, limit=count.limit)
    return _element(
        "li",
        _escape(label),
        class_=f"count {count.level}",
        data_part=count.part,
        data_count=count.count,
        data_limit=count.limit,
    )


# HTML helpers ------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _element(tag: str, content: str, **attributes: object) -> str:
    """Return `<tag attributes>content</tag>`, where `content` must already be HTML.

    A trailing underscore is dropped from an attribute name (`class_`), and other
    underscores become hyphens (`data_part` is `data-part`). None values are left out.
    """
    rendered = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{_escape(str(value))}"'
        for name, value in attributes.items()
        if value is not None
    )
    return f"<{tag}{rendered}>{content}</{tag}>"


def _link(url: str, content: str, **attributes: object) -> str:
    """Return an `<a>` for http(s) URLs; any other URL becomes a plain `<span>`."""
    if is_web_url(url):
        return _element("a", content, href=url, rel="noreferrer noopener", **attributes)
    return _element("span", content, **attributes)


# Platform text to HTML ---------------------------------------------------------------------

_FENCE = re.compile(r"```(?:\n)?(?P<code>.*?)(?:\n)?```", re.DOTALL)

_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_SLACK_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Slack mrkdwn: styles only open and close at word boundaries, so `2*3*4` stays literal.
# NOTE: this imitates Slack's parser only for the markup that the renderers produce, so
# rare nestings may draw differently in Slack.
_SLACK_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|<(?P<angle>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<strong>[^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>[^\s_](?:[^_\n]*[^\s_])?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^\s~](?:[^~\n]*[^\s~])?)~(?![\w~])"
)
_SLACK_QUOTES = ("&gt; ", "> ")
# Slack mention syntax inside <…> and the sigil each one is shown with.
_SLACK_MENTION_SIGILS = {"!": "@", "@": "@", "#": "#"}


def _slack_unescape(text: str) -> str:
    return _SLACK_ENTITY.sub(lambda match: _SLACK_ENTITIES[match[1]], text)


def _slack_angle(match: re.Match[str]) -> str:
    """Draw `<url|label>` as a link and `<!here>`, `<@U1>`, `<#C1|name>` as mentions."""
    target, _, label = match["angle"].partition("|")
    sigil = _SLACK_MENTION_SIGILS.get(target[:1])
    if sigil is not None:
        name = label or target[1:]
        return _element("span", _escape(sigil + _slack_unescape(name)), class_="mention")
    url = _slack_unescape(target)
    if is_web_url(url):
        return _link(url, slack_inline_html(label) if label else _escape(url))
    return _escape(_slack_unescape(match[0]))


_SLACK_INLINE_DRAWERS: dict[str, Callable[[re.Match[str]], str]] = {
    "code": lambda match: _element("code", _escape(_slack_unescape(match["code"]))),
    "angle": _slack_angle,
    "strong": lambda match: _element("b", slack_inline_html(match["strong"])),
    "em": lambda match: _element("i", slack_inline_html(match["em"])),
    "strike": lambda match: _element("s", slack_inline_html(match["strike"])),
}


def slack_inline_html(text: str) -> str:
    """Convert one line of Slack mrkdwn to HTML: bold, italic, strike, code, links, mentions."""
    return _inline_html(
        text, _SLACK_INLINE, _SLACK_INLINE_DRAWERS, lambda plain: _escape(_slack_unescape(plain))
    )


def slack_mrkdwn_html(text: str) -> str:
    """Convert a Slack mrkdwn text object to HTML; CSS `pre-wrap` shows its `\\n` breaks."""
    return _blocks_html(
        text,
        code=lambda code: _escape(_slack_unescape(code)),
        line=slack_inline_html,
        quotes=_SLACK_QUOTES,
    )


# Discord markdown: a backslash before ASCII punctuation shows that character literally.
_DISCORD_INLINE = re.compile(
    r"\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>(?:\\.|[^\[\]\\\n])+)\]\((?P<url>[^\s()]+)\)"
    r"|\*\*(?P<strong>(?:\\.|[^\\\n])+?)\*\*"
    r"|__(?P<underline>(?:\\.|[^\\\n])+?)__"
    r"|\*(?P<em>(?:\\.|[^\\\n*])+?)\*"
    r"|(?<!\w)_(?P<em_underscore>(?:\\.|[^\\\n_])+?)_(?!\w)"
    r"|~~(?P<strike>(?:\\.|[^\\\n])+?)~~"
    r"|\|\|(?P<spoiler>(?:\\.|[^\\\n])+?)\|\|"
)
_DISCORD_QUOTES = ("> ",)
_DISCORD_HEADING = re.compile(r"(#{1,3}) (.*)")


def _discord_masked_link(match: re.Match[str]) -> str:
    return _link(match["url"], discord_inline_html(match["label"]))


_DISCORD_INLINE_DRAWERS: dict[str, Callable[[re.Match[str]], str]] = {
    "escaped": lambda match: _escape(match["escaped"]),
    "code": lambda match: _element("code", _escape(match["code"])),
    "url": _discord_masked_link,
    "strong": lambda match: _element("b", discord_inline_html(match["strong"])),
    "underline": lambda match: _element("u", discord_inline_html(match["underline"])),
    "em": lambda match: _element("i", discord_inline_html(match["em"])),
    "em_underscore": lambda match: _element("i", discord_inline_html(match["em_underscore"])),
    "strike": lambda match: _element("s", discord_inline_html(match["strike"])),
    "spoiler": lambda match: _element(
        "span", discord_inline_html(match["spoiler"]), class_="spoiler"
    ),
}


def discord_inline_html(text: str) -> str:
    """Convert one line of Discord markdown to HTML, honouring backslash escapes."""
    return _inline_html(text, _DISCORD_INLINE, _DISCORD_INLINE_DRAWERS, _escape)


def _discord_line_html(line: str) -> str:
    heading = _DISCORD_HEADING.fullmatch(line)
    if heading is None:
        return discord_inline_html(line)
    level = len(heading[1])
    return _element("span", discord_inline_html(heading[2]), class_=f"heading h{level}")


def discord_markdown_html(text: str) -> str:
    """Convert Discord message or embed markdown to HTML; CSS `pre-wrap` shows its `\\n` breaks."""
    return _blocks_html(text, code=_escape, line=_discord_line_html, quotes=_DISCORD_QUOTES)


def _inline_html(
    text: str,
    pattern: re.Pattern[str],
    drawers: dict[str, Callable[[re.Match[str]], str]],
    plain: Callable[[str], str],
) -> str:
    """Draw each match of `pattern` with the drawer of its last named group; escape the rest."""
    parts = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(plain(text[position : match.start()]))
        parts.append(drawers[str(match.lastgroup)](match))
        position = match.end()
    parts.append(plain(text[position:]))
    return "".join(parts)


def _blocks_html(
    text: str,
    *,
    code: Callable[[str], str],
    line: Callable[[str], str],
    quotes: Sequence[str],
) -> str:
    """Draw fenced code blocks as `<pre>` and every other line with `line`, quotes marked."""
    parts = []
    position = 0
    for match in _FENCE.finditer(text):
        parts.append(_lines_html(text[position : match.start()], line, quotes))
        parts.append(_element("pre", code(match["code"])))
        position = match.end()
    parts.append(_lines_html(text[position:], line, quotes))
    return "".join(parts)


def _lines_html(text: str, line: Callable[[str], str], quotes: Sequence[str]) -> str:
    drawn = []
    for raw in text.split("\n"):
        depth = 0
        prefix = next((quote for quote in quotes if raw.startswith(quote)), None)
        while prefix is not None:
            raw = raw[len(prefix) :]
            depth += 1
            prefix = next((quote for quote in quotes if raw.startswith(quote)), None)
        content = line(raw)
        drawn.append(_element("span", content, class_="quote") if depth else content)
    return "\n".join(drawn)


# Slack messages ----------------------------------------------------------------------------

_Drawn = tuple[str, list[Count]]


def _slack_header(block: dict[str, Any]) -> _Drawn:
    text = _text((block.get("text") or {}).get("text"))
    drawn = _element("div", _escape(text), class_="sk-header")
    return drawn, [Count("slack_header", len(text), SLACK_HEADER_MAX)]


def _slack_text_object(obj: object) -> str:
    if not isinstance(obj, dict):
        return ""
    text = _text(obj.get("text"))
    return slack_mrkdwn_html(text) if obj.get("type") == "mrkdwn" else _escape(text)


def _slack_section(block: dict[str, Any]) -> _Drawn:
    text_object = block.get("text") or {}
    text = _text(text_object.get("text") if isinstance(text_object, dict) else None)
    drawn = _element("div", _slack_text_object(text_object), class_="sk-section")
    return drawn, [Count("slack_section", len(text), SLACK_SECTION_TEXT_MAX)]


def _slack_context(block: dict[str, Any]) -> _Drawn:
    elements = [element for element in block.get("elements") or [] if isinstance(element, dict)]
    drawn = "".join(
        _element("span", _slack_text_object(element), class_="sk-context-element")
        for element in elements
    )
    count = Count("slack_context", len(elements), SLACK_CONTEXT_MAX_ELEMENTS, items=True)
    return _element("div", drawn, class_="sk-context"), [count]


def _slack_actions(block: dict[str, Any]) -> _Drawn:
    buttons = []
    counts = []
    for element in block.get("elements") or []:
        if not isinstance(element, dict) or element.get("type") != "button":
            continue
        label = _text((element.get("text") or {}).get("text"))
        url = _text(element.get("url"))
        buttons.append(_link(url, _escape(label), class_="sk-button"))
        counts.append(Count("slack_button", len(label), SLACK_BUTTON_TEXT_MAX))
        if url:
            counts.append(Count("slack_button_url", len(url), SLACK_BUTTON_URL_MAX))
    return _element("div", "".join(buttons), class_="sk-actions"), counts


def _slack_divider(block: dict[str, Any]) -> _Drawn:
    return "<hr class='sk-divider'>", []


_SLACK_BLOCK_DRAWERS: dict[str, Callable[[dict[str, Any]], _Drawn]] = {
    "header": _slack_header,
    "section": _slack_section,
    "context": _slack_context,
    "actions": _slack_actions,
    "divider": _slack_divider,
}


def _slack_message(payload: MessagePayload, t: Translator) -> _Drawn:
    blocks = payload.get("blocks") or []
    drawn = []
    counts = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        drawer = _SLACK_BLOCK_DRAWERS.get(str(kind))
        if drawer is None:
            note = t("preview_unsupported_block", type=str(kind))
            drawn.append(_element("div", _escape(note), class_="unsupported"))
            continue
        block_html, block_counts = drawer(block)
        drawn.append(block_html)
        counts += block_counts
    counts.append(Count("slack_blocks", len(blocks), SLACK_MAX_BLOCKS, items=True))
    fallback = _text(payload.get("text"))
    counts.append(Count("slack_fallback", len(fallback), SLACK_FALLBACK_TEXT_MAX))
    body = _element("div", "".join(drawn), class_="sk-blocks")
    return _chat_frame("sk", t("preview_app_badge"), body), counts


# Discord messages --------------------------------------------------------------------------

# Bar of an embed without `color`: an approximation of the neutral grey of Discord's client.
_DISCORD_DEFAULT_BAR = "#4e5058"


def _bar_color(embed: dict[str, Any]) -> str:
    color = embed.get("color")
    if isinstance(color, int) and not isinstance(color, bool) and 0 <= color <= 0xFFFFFF:
        return f"#{color:06x}"
    return _DISCORD_DEFAULT_BAR


def _discord_fields(fields: list[Any]) -> _Drawn:
    drawn = []
    counts = []
    for item in fields:
        if not isinstance(item, dict):
            continue
        name, value = _text(item.get("name")), _text(item.get("value"))
        content = _element("div", discord_markdown_html(name), class_="dc-field-name")
        content += _element("div", discord_markdown_html(value), class_="dc-field-value")
        css = "dc-field inline" if item.get("inline") else "dc-field"
        drawn.append(_element("div", content, class_=css))
        counts.append(Count("discord_field_name", len(name), DISCORD_FIELD_NAME_MAX))
        counts.append(Count("discord_field_value", len(value), DISCORD_FIELD_VALUE_MAX))
    counts.append(Count("discord_fields", len(fields), DISCORD_EMBED_MAX_FIELDS, items=True))
    return _element("div", "".join(drawn), class_="dc-fields"), counts


def _discord_embed(embed: dict[str, Any]) -> _Drawn:
    """Draw one embed with the length of each of its texts."""
    parts = []
    counts = []

    author = _text((embed.get("author") or {}).get("name"))
    if author:
        parts.append(_element("div", _escape(author), class_="dc-author"))
        counts.append(Count("discord_author", len(author), DISCORD_AUTHOR_MAX))

    title = _text(embed.get("title"))
    if title:
        title_html = discord_inline_html(title)
        linked = _link(_text(embed.get("url")), title_html) if embed.get("url") else title_html
        parts.append(_element("div", linked, class_="dc-title"))
        counts.append(Count("discord_title", len(title), DISCORD_EMBED_TITLE_MAX))

    description = _text(embed.get("description"))
    if description:
        parts.append(_element("div", discord_markdown_html(description), class_="dc-description"))
        counts.append(Count("discord_description", len(description), DISCORD_EMBED_DESCRIPTION_MAX))

    fields = embed.get("fields") or []
    if fields:
        fields_html, field_counts = _discord_fields(fields)
        parts.append(fields_html)
        counts += field_counts

    footer = _text((embed.get("footer") or {}).get("text"))
    if footer:
        parts.append(_element("div", _escape(footer), class_="dc-footer"))
        counts.append(Count("discord_footer", len(footer), DISCORD_FOOTER_MAX))

    style = f"border-left-color: {_bar_color(embed)}"
    return _element("div", "".join(parts), class_="dc-embed", style=style), counts


def _discord_buttons(rows: list[Any]) -> _Drawn:
    drawn = []
    counts = []
    for row in rows:
        buttons = []
        for button in (row.get("components") or []) if isinstance(row, dict) else []:
            if not isinstance(button, dict):
                continue
            label, url = _text(button.get("label")), _text(button.get("url"))
            counts.append(Count("discord_button", len(label), DISCORD_BUTTON_LABEL_MAX))
            if button.get("style") == DISCORD_LINK_BUTTON_STYLE:
                # U+2197 stands in for the external-link icon of Discord's link buttons.
                buttons.append(_link(url, _escape(label) + " \u2197", class_="dc-button"))
                counts.append(Count("discord_button_url", len(url), DISCORD_BUTTON_URL_MAX))
            else:
                buttons.append(_element("span", _escape(label), class_="dc-button"))
        drawn.append(_element("div", "".join(buttons), class_="dc-row"))
    return "".join(drawn), counts


def _discord_message(payload: MessagePayload, t: Translator) -> _Drawn:
    parts = []
    counts = []
    content = _text(payload.get("content"))
    if content:
        parts.append(_element("div", discord_markdown_html(content), class_="dc-content"))
        counts.append(Count("discord_content", len(content), DISCORD_CONTENT_MAX))
    embed_counts: list[Count] = []
    for embed in payload.get("embeds") or []:
        if isinstance(embed, dict):
            embed_html, counts_of_embed = _discord_embed(embed)
            parts.append(embed_html)
            embed_counts += counts_of_embed
    counts += embed_counts
    if embed_counts:
        # Discord's 6000-character limit applies to the texts of all embeds of a message
        # together, counted like `discord_payload_problems`: no URLs, no button labels.
        total = sum(count.count for count in embed_counts if not count.items)
        counts.append(Count("discord_total", total, DISCORD_EMBEDS_TOTAL_MAX))

    buttons_html, button_counts = _discord_buttons(payload.get("components") or [])
    parts.append(buttons_html)
    counts += button_counts
    return _chat_frame("dc", t("preview_bot_badge"), "".join(parts)), counts


# Page --------------------------------------------------------------------------------------

_MESSAGE_DRAWERS: dict[Platform, Callable[[MessagePayload, Translator], _Drawn]] = {
    Platform.SLACK: _slack_message,
    Platform.DISCORD: _discord_message,
}

_PROBLEM_CHECKS: dict[Platform, tuple[Callable[[MessagePayload], list[str]], ...]] = {
    Platform.SLACK: (slack_payload_problems, slack_mention_problems),
    Platform.DISCORD: (discord_payload_problems, discord_mention_problems),
}


@dataclass(frozen=True)
class PreviewColumn:
    """One platform's column: the channel whose settings render it, and its messages.

    `configured` is false for a stand-in channel of a platform that the config does not
    use. A stand-in channel has the default channel settings and the preview locale.
    """

    channel: ChannelConfig
    configured: bool
    messages: dict[int, MessagePayload]


def preview_columns(digest: Digest, config: Config, locale: str) -> list[PreviewColumn]:
    """Plan the messages of one Slack and one Discord column, as delivery renders them.

    Each column uses the first configured channel of its platform, so its locale, header
    and thread settings apply.
    """
    columns = []
    for platform in _PLATFORM_ORDER:
        configured = config.channels_for(platform)
        # NOTE: further channels of the same platform are not drawn. Their messages differ
        # from the first channel's only when their locale, header or thread setting does.
        channel = configured[0] if configured else _stand_in_channel(platform)
        messages = {
            message.paper: message.payload for message in plan_messages(digest, channel, locale)
        }
        columns.append(PreviewColumn(channel, bool(configured), messages))
    return columns


def _stand_in_channel(platform: Platform) -> ChannelConfig:
    return ChannelConfig(name="preview", platform=platform, id=_STAND_IN_IDS[platform])


def _chat_frame(prefix: str, badge: str, body: str) -> str:
    """Wrap a message body in the avatar, bot name and badge of a chat client."""
    avatar = _element("div", "P", class_=f"{prefix}-avatar")
    name = _element("span", "paperbot", class_=f"{prefix}-name")
    name += _element("span", _escape(badge), class_=f"{prefix}-badge")
    main = _element("div", name, class_=f"{prefix}-meta") + body
    return _element("div", avatar + _element("div", main, class_=f"{prefix}-main"), class_="chat")


def _problems_html(platform: Platform, payload: MessagePayload, t: Translator) -> str:
    problems = [problem for check in _PROBLEM_CHECKS[platform] for problem in check(payload)]
    if not problems:
        return _element("p", _escape(t("preview_no_problems")), class_="problems none")
    items = "".join(_element("li", _escape(problem)) for problem in problems)
    heading = _element("p", _escape(t("preview_problems")))
    return _element("div", heading + _element("ul", items), class_="problems found")


def message_html(platform: Platform, payload: MessagePayload, t: Translator) -> str:
    """Draw one message payload, the length of each part and the problems found in it.

    The problems are those that the platform would reject and live mentions, as listed by
    the validators of `bot.render.limits`.

    Args:
        platform: The platform the payload is for.
        payload: A `chat.postMessage` body (Slack) or create-message body (Discord).
        t: Translator of the labels around the message.
    """
    drawn, counts = _MESSAGE_DRAWERS[platform](payload, t)
    counts_html = _element("ul", "".join(_count_html(count, t) for count in counts))
    return (
        drawn + _element("div", counts_html, class_="counts") + _problems_html(platform, payload, t)
    )


def _cell_html(column: PreviewColumn, number: int, t: Translator) -> str:
    platform = column.channel.platform
    payload = column.messages.get(number)
    if payload is None:
        content = _element("p", _escape(t("preview_not_sent")), class_="not-sent")
    else:
        content = message_html(platform, payload, t)
    return _element("div", content, class_=f"cell {platform}", data_platform=str(platform))


def _column_heading(column: PreviewColumn, t: Translator) -> str:
    platform = column.channel.platform
    name = t(f"preview_platform_{platform}")
    if column.configured:
        where = t("preview_channel", name=column.channel.name, id=column.channel.id)
    else:
        where = t("preview_channel_missing")
    return _element(
        "div",
        _element("h2", _escape(name)) + _element("p", _escape(where)),
        class_=f"column-heading {platform}",
    )


def _row_html(
    number: int, heading: str, abs_url: str | None, columns: list[PreviewColumn], t: Translator
) -> str:
    heading_html = _link(abs_url, _escape(heading)) if abs_url else _escape(heading)
    cells = "".join(_cell_html(column, number, t) for column in columns)
    row_id = "digest-header" if number == HEADER_PAPER else f"paper-{number}"
    content = _element("h2", heading_html) + _element("div", cells, class_="cells")
    return _element("section", content, class_="post", id=row_id, data_paper=number)


def _contents_html(digest: Digest) -> str:
    items = "".join(
        _element(
            "li",
            _element("a", _escape(f"{paper.number}. {paper.title}"), href=f"#paper-{paper.number}"),
        )
        for paper in digest.papers
    )
    # Each entry already starts with the digest's own paper number, so the list adds none.
    return _element("ul", items, class_="contents")


def _page_heading(digest: Digest, t: Translator) -> str:
    title = _element("h1", _escape(t("preview_title", title=digest.title)))
    summary = t(
        "preview_summary",
        count=len(digest.papers),
        date=digest.date.isoformat(),
        source=digest.source,
    )
    legend = t("preview_legend", share=round(NEAR_LIMIT_SHARE * 100))
    paragraphs = _element("p", _escape(summary)) + _element("p", _escape(legend), class_="legend")
    return _element("header", title + paragraphs + _contents_html(digest))


def _rows_html(digest: Digest, columns: list[PreviewColumn], t: Translator) -> Iterable[str]:
    if any(HEADER_PAPER in column.messages for column in columns):
        yield _row_html(HEADER_PAPER, t("preview_digest_header"), None, columns, t)
    if not digest.papers:
        yield _element("p", _escape(t("preview_no_papers")), class_="no-papers")
    for paper in digest.papers:
        yield _row_html(paper.number, f"{paper.number}. {paper.title}", paper.abs_url, columns, t)


def render_preview(digest: Digest, config: Config, *, locale: str | None = None) -> str:
    """Render the preview page of `digest` as one self-contained HTML document.

    Args:
        digest: The digest to show.
        config: Supplies the channels whose settings the messages are rendered with.
        locale: Locale of the page and of messages to channels without their own
            locale; defaults to the config's locale.

    Raises:
        KeyError: `locale` is not a supported locale.
    """
    page_locale = locale or config.locale
    t = translator(page_locale)
    columns = preview_columns(digest, config, page_locale)
    headings = _element(
        "div", "".join(_column_heading(column, t) for column in columns), class_="cells"
    )
    body = _page_heading(digest, t) + headings + "".join(_rows_html(digest, columns, t))
    footer = _element("footer", _escape(t("preview_generated_by", version=__version__)))
    title = _element("title", _escape(t("preview_title", title=digest.title)))
    head = _HEAD.format(policy=_CONTENT_SECURITY_POLICY, title=title, style=_STYLE)
    return (
        f'<!DOCTYPE html>\n<html lang="{_escape(page_locale)}">\n{head}\n'
        f"<body>\n{body}\n{footer}\n</body>\n</html>\n"
    )


# Forbids scripts, frames, forms and every load from the network; allows inline style only.
_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
_HEAD = """<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
{title}
<style>{style}</style>
</head>"""

_STYLE = """
body { margin: 0; padding: 16px 24px; background: #f4f4f6; color: #1d1c1d;
  font: 15px/1.46 system-ui, -apple-system, "Segoe UI", "Noto Sans KR", "Noto Sans CJK KR",
  sans-serif; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 2px 0; color: #555; }
.legend::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: -1px; background: #ffe08a; border: 1px solid #d9a400; }
.contents { columns: 2; margin: 8px 0 16px; padding-left: 0; list-style: none;
  font-size: 13px; }
.contents a { color: #1264a3; text-decoration: none; }
.cells { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.column-heading h2 { margin: 0; font-size: 18px; }
.column-heading p { margin: 0 0 8px; color: #666; font-size: 13px; }
.column-heading.slack h2 { color: #4a154b; }
.column-heading.discord h2 { color: #5865f2; }
section.post { margin: 0 0 24px; padding-top: 8px; border-top: 2px solid #d8d8dc; }
section.post > h2 { margin: 4px 0 8px; font-size: 16px; }
section.post > h2 a { color: inherit; }
.cell { border-radius: 8px; padding: 12px; min-width: 0; }
.cell.slack { background: #ffffff; border: 1px solid #dddddd; color: #1d1c1d; }
.cell.discord { background: #313338; color: #dbdee1; }
.chat { display: flex; gap: 10px; }
.chat > div:last-child { min-width: 0; flex: 1; }
.sk-avatar, .dc-avatar { flex: none; width: 36px; height: 36px; display: grid; place-items: center;
  font-weight: 700; color: #fff; }
.sk-avatar { border-radius: 6px; background: #2eb67d; }
.dc-avatar { border-radius: 50%; background: #5865f2; width: 40px; height: 40px; }
.sk-name, .dc-name { font-weight: 700; margin-right: 6px; }
.dc-name { color: #f2f3f5; }
.sk-badge { font-size: 10px; padding: 1px 3px; border-radius: 2px; background: #e8e8e8;
  color: #616061; }
.dc-badge { font-size: 10px; padding: 1px 4px; border-radius: 3px; background: #5865f2;
  color: #fff; }
.sk-header { font-size: 18px; font-weight: 900; margin: 4px 0; }
.sk-section, .dc-description, .dc-field-value, .dc-content { white-space: pre-wrap;
  overflow-wrap: anywhere; }
.sk-section { margin: 6px 0; }
.sk-context { display: flex; flex-wrap: wrap; gap: 10px; font-size: 12px; color: #616061;
  margin-top: 6px; }
.sk-section a, .sk-context a { color: #1264a3; }
.sk-button { display: inline-block; padding: 3px 12px; margin: 4px 6px 0 0; border: 1px solid #bbb;
  border-radius: 4px; color: #1d1c1d; text-decoration: none; font-weight: 700; font-size: 13px; }
code { font: 12px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; padding: 1px 3px;
  border-radius: 3px; }
.slack code { background: #f6f6f6; border: 1px solid #ddd; color: #e01e5a; }
.discord code { background: #1e1f22; }
pre { white-space: pre-wrap; padding: 8px; border-radius: 4px; font: 12px ui-monospace, monospace; }
.slack pre { background: #f8f8f8; border: 1px solid #ddd; }
.discord pre { background: #1e1f22; border: 1px solid #111214; }
.quote { display: inline-block; border-left: 4px solid #ddd; padding-left: 8px; }
.discord .quote { border-left-color: #4e5058; }
.mention { background: #fff4cc; border-radius: 3px; padding: 0 2px; }
.spoiler { background: #1e1f22; color: #1e1f22; }
.dc-embed { margin-top: 4px; background: #2b2d31; border-left: 4px solid; border-radius: 4px;
  padding: 8px 16px 12px 12px; max-width: 520px; }
.dc-author { font-size: 14px; font-weight: 600; color: #f2f3f5; }
.dc-title { font-weight: 600; margin: 4px 0; color: #f2f3f5; }
.dc-title a, .dc-content a, .dc-description a, .dc-field-value a { color: #00a8fc;
  text-decoration: none; }
.dc-description { font-size: 14px; margin-top: 6px; }
.dc-fields { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin-top: 8px; }
.dc-field { grid-column: 1 / -1; font-size: 14px; }
.dc-field.inline { grid-column: auto; }
.dc-field-name { font-weight: 600; color: #f2f3f5; }
.dc-footer { margin-top: 8px; font-size: 12px; color: #b5bac1; }
.dc-row { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.dc-button { background: #4e5058; color: #fff; border-radius: 3px; padding: 2px 16px;
  font-size: 14px;
  line-height: 28px; text-decoration: none; }
.heading { font-weight: 700; }
.heading.h1 { font-size: 20px; } .heading.h2 { font-size: 18px; } .heading.h3 { font-size: 16px; }
.counts ul { display: flex; flex-wrap: wrap; gap: 4px 12px; list-style: none; margin: 10px 0 0;
  padding: 8px 0 0; font-size: 12px; }
.slack .counts ul { border-top: 1px dashed #ccc; color: #616061; }
.discord .counts ul { border-top: 1px dashed #4e5058; color: #b5bac1; }
.count.near { background: #ffe08a; color: #3d2e00; border-radius: 3px; padding: 0 4px;
  font-weight: 700; }
.count.over { background: #e01e5a; color: #fff; border-radius: 3px; padding: 0 4px;
  font-weight: 700; }
.problems { margin: 6px 0 0; font-size: 12px; }
.problems.none { color: #2e8b57; }
.discord .problems.none { color: #57f287; }
.problems.found { color: #fff; background: #b3134a; border-radius: 4px; padding: 4px 8px; }
.not-sent, .unsupported { font-style: italic; color: #888; }
footer { margin-top: 24px; color: #777; font-size: 12px; }
"""


# Command -----------------------------------------------------------------------------------


def write_preview(path: Path, page: str) -> None:
    """Write `page` to `path` as UTF-8.

    Raises:
        PreviewOutputError: the file could not be written (missing folder, no
            permission, a directory in its place).
    """
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PreviewOutputError(
            f"cannot write the preview to {path}: {reason}; pass a writable file path to --html"
        ) from error


def run_preview_command(args: argparse.Namespace, *, clock: Clock | None = None) -> int:
    """Carry out `paperbot preview` and return its exit code.

    Raises:
        ConfigError, DigestError, SourceError: bad config or digest (exit code 2).
        PreviewOutputError: the page could not be written (exit code 2).
    """
    return asyncio.run(_preview(args, clock or SystemClock()))


async def _preview(args: argparse.Namespace, clock: Clock) -> int:
    config = build_config(args.config, require_tokens=False)
    digest = await load_requested_digest(config, clock, day=args.date, path=args.digest)
    _log.info("digest %s loaded from %s: %d papers", digest.date, digest.source, len(digest.papers))
    page = render_preview(digest, config, locale=args.locale)
    write_preview(args.html, page)
    print(f"{args.html}: preview of {len(digest.papers)} papers written")
    return 0
