"""Slack messages for `/paper` answers, sent through a command's or a button's response_url.

A single paper is drawn by the daily-post renderer, so it looks exactly like the daily
post. Lists and search results are numbered lines linked to arXiv, help is a list of
forms, and an error is one short localized line.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from bot.commands import Answer, AnswerEntry, AnswerKind
from bot.digest.model import DateSource, Digest
from bot.i18n import Translator, translator
from bot.render.limits import (
    SLACK_BUTTON_TEXT_MAX,
    SLACK_BUTTON_URL_MAX,
    SLACK_CONTEXT_MAX_ELEMENTS,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_TEXT_MAX,
    SLACK_TEXT_OBJECT_MAX,
)
from bot.render.markdown import BULLET, SLACK, plain, slack_link
from bot.render.paper import read_more_url
from bot.render.pieces import ELLIPSIS, Escapers, Piece, fit
from bot.render.slack import render_slack_paper
from bot.render.text import PlainEscaper, is_web_url

_log = logging.getLogger(__name__)

SlackResponsePayload = dict[str, Any]
"""JSON body of a response_url request: message fields plus `response_type`."""

Block = dict[str, Any]

SHARE_ACTION_ID = "paperbot_share"
EPHEMERAL = "ephemeral"
IN_CHANNEL = "in_channel"
# Block Kit button element reference: `value` is at most 2000 characters.
SLACK_BUTTON_VALUE_MAX = 2000
# The fallback `text` shows in notifications, so it stays as short as one section.
FALLBACK_TEXT_MAX = SLACK_SECTION_TEXT_MAX

# render_slack_paper needs a channel id. Only its blocks and text are used, because a
# response_url message always goes to the channel of the command.
_RESPONSE_URL_CHANNEL = "response_url"
_PLAIN = Escapers(text=PlainEscaper(), code=PlainEscaper())


def render_slack_answer(
    answer: Answer,
    *,
    response_type: str = EPHEMERAL,
    share_value: str | None = None,
) -> SlackResponsePayload:
    """Build the response_url message of one `/paper` answer.

    Args:
        answer: The platform-neutral answer; its `locale` picks the labels.
        response_type: `ephemeral` (only the requester sees it) or `in_channel`.
        share_value: Value of a "Share to channel" button; None leaves the button out.
            A value over Slack's 2000-character limit also leaves it out.

    Raises:
        ValueError: `response_type` is neither `ephemeral` nor `in_channel`.
    """
    if response_type not in (EPHEMERAL, IN_CHANNEL):
        raise ValueError(
            f"invalid response_type {response_type!r}: expected ephemeral or in_channel"
        )
    t = translator(answer.locale)
    share = _share_block(share_value, t)
    room = SLACK_MAX_BLOCKS - (share is not None)

    build = _BLOCK_BUILDERS.get(answer.kind, _text_blocks)
    blocks, text = build(answer, t, room)
    if share is not None:
        blocks.append(share)
    return {
        "response_type": response_type,
        "text": text,
        "blocks": blocks,
        # A paper link would otherwise add a large preview under the answer.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def render_slack_error(text: str, *, response_type: str = EPHEMERAL) -> SlackResponsePayload:
    """Build a response_url message of one already localized error line."""
    blocks, fallback = _lines_blocks((text,))
    return {"response_type": response_type, "text": fallback, "blocks": blocks}


def _fallback(lines: tuple[str, ...]) -> str:
    # Top-level `text` is mrkdwn, so digest titles in it are escaped like block text.
    return fit([Piece(raw="\n".join(lines))], FALLBACK_TEXT_MAX, SLACK.escapers)


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack does not turn plain #channel names or @here into links or mentions.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _escaped(line: str, limit: int) -> str:
    return fit([Piece(raw=line)], limit, SLACK.escapers)


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": fit([Piece(raw=text)], SLACK_HEADER_MAX, _PLAIN)},
    }


def _context(lines: list[str]) -> Block:
    elements = [_mrkdwn(_escaped(line, SLACK_TEXT_OBJECT_MAX)) for line in lines]
    return {"type": "context", "elements": elements[:SLACK_CONTEXT_MAX_ELEMENTS]}


def _sections(lines: list[str]) -> list[Block]:
    """Pack already escaped lines into as few sections of at most 3000 characters as fit."""
    blocks: list[Block] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= SLACK_SECTION_TEXT_MAX:
            current = candidate
            continue
        blocks.append(_section(current))
        current = line
    if current:
        blocks.append(_section(current))
    return blocks


def _fit_blocks(blocks: list[Block], room: int, *, more: str = "") -> list[Block]:
    """Keep at most `room` blocks; a cut ends with a section of `…` and then `more`.

    A trailing context block (a paper's links) is kept after the cut.
    """
    if len(blocks) <= room:
        return blocks
    _log.warning("answer needs %d Slack blocks and %d fit, so the rest is cut", len(blocks), room)
    tail = [blocks[-1]] if blocks[-1].get("type") == "context" else []
    kept = blocks[: room - 1 - len(tail)]
    return [*kept, _section(ELLIPSIS + more), *tail]


# Blocks of each answer kind


def _lines_blocks(lines: tuple[str, ...], room: int = SLACK_MAX_BLOCKS) -> tuple[list[Block], str]:
    escaped = [_escaped(line, SLACK_SECTION_TEXT_MAX) for line in lines]
    return _fit_blocks(_sections(escaped), room), _fallback(lines)


def _text_blocks(answer: Answer, t: Translator, room: int) -> tuple[list[Block], str]:
    return _lines_blocks(answer.lines, room)


def _entry_line(line: str, entry: AnswerEntry) -> str:
    # The whole localized line ("3. Title") links to the paper's arXiv page.
    url = entry.paper.abs_url
    if is_web_url(url) and len(url) <= SLACK_BUTTON_URL_MAX:
        linked = slack_link(url, line)
        if len(linked) <= SLACK_SECTION_TEXT_MAX:
            return linked
    return _escaped(line, SLACK_SECTION_TEXT_MAX)


def _list_blocks(answer: Answer, t: Translator, room: int) -> tuple[list[Block], str]:
    """Draw a paper list or search results: the first line as a header, then linked lines.

    `lines[1:]` and `entries` correspond one to one; with no entries, every line is text.
    """
    if not answer.entries or len(answer.lines) != len(answer.entries) + 1:
        return _text_blocks(answer, t, room)
    pairs = zip(answer.lines[1:], answer.entries, strict=True)
    items = [_entry_line(line, entry) for line, entry in pairs]
    blocks = [_header(answer.lines[0]), *_sections(items)]
    return _fit_blocks(blocks, room), _fallback(answer.lines)


def _help_blocks(answer: Answer, t: Translator, room: int) -> tuple[list[Block], str]:
    if not answer.lines:
        return _text_blocks(answer, t, room)
    title, *forms = answer.lines
    items = [_escaped(BULLET + line, SLACK_SECTION_TEXT_MAX) for line in forms]
    blocks = [_header(title), *_sections(items)]
    return _fit_blocks(blocks, room), _fallback(answer.lines)


def _standalone_digest(entry: AnswerEntry) -> Digest:
    # A paper found by id has no digest in the answer. The renderer takes the date only
    # for message metadata, which a response_url message drops, and links "read more"
    # to the arXiv abstract because this digest has no web address.
    return Digest(
        date=entry.date or dt.date.min,
        title="",
        source="",
        date_source=DateSource.FILENAME,
        papers=(entry.paper,),
    )


def _paper_blocks(answer: Answer, t: Translator, room: int) -> tuple[list[Block], str]:
    """Draw one paper with the daily-post renderer, after a context line of where it is listed."""
    if not answer.entries:
        return _text_blocks(answer, t, room)
    entry = answer.entries[0]
    digest = answer.digest or _standalone_digest(entry)
    payload = render_slack_paper(entry.paper, digest, t, channel=_RESPONSE_URL_CHANNEL)
    blocks: list[Block] = list(payload["blocks"])
    if entry.number is None:
        # Not listed in any digest, so "N. Title" would show the placeholder number 0.
        blocks[0] = _header(plain(entry.paper.title) or entry.paper.arxiv_id)
    shown = {entry.paper.title, entry.paper.abs_url}
    notes = [line for line in answer.lines if line not in shown]
    if notes:
        blocks.insert(0, _context(notes))
    more = " " + slack_link(read_more_url(entry.paper, digest), t("read_more"))
    return _fit_blocks(blocks, room, more=more), str(payload["text"])


BlockBuilder = Callable[[Answer, Translator, int], tuple[list[Block], str]]
"""Draws one answer kind in at most the given number of blocks; returns blocks and `text`."""

_BLOCK_BUILDERS: dict[AnswerKind, BlockBuilder] = {
    AnswerKind.PAPER: _paper_blocks,
    AnswerKind.PAPER_LIST: _list_blocks,
    AnswerKind.SEARCH_RESULTS: _list_blocks,
    AnswerKind.HELP: _help_blocks,
    AnswerKind.ERROR: _text_blocks,
}


def _share_block(value: str | None, t: Translator) -> Block | None:
    if value is None:
        return None
    if len(value) > SLACK_BUTTON_VALUE_MAX:
        _log.warning(
            "share button left out: value has %d characters, maximum %d",
            len(value),
            SLACK_BUTTON_VALUE_MAX,
        )
        return None
    label = fit([Piece(raw=t("slack_share_button"))], SLACK_BUTTON_TEXT_MAX, _PLAIN)
    button = {
        "type": "button",
        "action_id": SHARE_ACTION_ID,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    return {"type": "actions", "elements": [button]}
