"""Discord follow-up payloads for `/paper` answers.

A paper answer is drawn by `render_discord_paper`, so it looks exactly like the paper's
message in the daily post, and the answer's other lines (such as "Paper 3 of 2025-09-23")
become the message `content`. Lists, search results, help and errors are one text message.
Every payload carries `allowed_mentions` without parse types, so nothing in it pings anyone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from bot.commands import Answer, AnswerEntry, AnswerKind
from bot.digest.model import DateSource, Digest
from bot.i18n import Translator, translator
from bot.render.discord import DiscordMessagePayload, render_discord_note, render_discord_paper

_log = logging.getLogger(__name__)

# Footer of a paper that only arXiv knows. "arXiv" is a name, so it is not translated.
_ARXIV_FOOTER = "arXiv"


def error_answer(key: str, locale: str | None, **values: object) -> Answer:
    """Build an error answer whose text is the localized message `key` filled with `values`."""
    translate = translator(locale)
    return Answer(
        AnswerKind.ERROR,
        (translate(key, **values),),
        error_key=key,
        locale=translate.locale,
    )


def render_discord_answer(answer: Answer, *, digest: Digest | None = None) -> DiscordMessagePayload:
    """Build the follow-up message body of `answer`, in the answer's locale.

    Args:
        answer: The answer of `PaperService.answer`.
        digest: The digest that lists the paper of a paper answer, used when
            `answer.digest` is None (a lookup by arXiv id). Without either, the paper is
            drawn as an arXiv entry.
    """
    if answer.kind is AnswerKind.PAPER and answer.entries:
        return _paper_message(answer, answer.digest or digest)
    return _text_message(answer)


def _paper_message(answer: Answer, digest: Digest | None) -> DiscordMessagePayload:
    entry = answer.entries[0]
    t = translator(answer.locale)
    if digest is not None and entry.number is not None:
        # The stored paper keeps the number of the digest it was saved from, and the
        # answer names the number under which the latest digest listed it.
        paper = dataclasses.replace(entry.paper, number=entry.number)
        payload = render_discord_paper(paper, digest, t)
    else:
        payload = _arxiv_paper_message(entry, t)

    # The embed shows the title and links to the abstract, so only the other lines stay.
    notes = [line for line in answer.lines if line not in (entry.paper.title, entry.paper.abs_url)]
    if notes:
        payload["content"] = render_discord_note("\n".join(notes))["content"]
    return payload


def _arxiv_paper_message(entry: AnswerEntry, t: Translator) -> DiscordMessagePayload:
    """Draw a paper that no digest lists, with an arXiv footer and no digest number."""
    published = entry.metadata.published if entry.metadata else None
    stand_in = Digest(
        date=published.date() if published else dt.date.min,
        title=_ARXIV_FOOTER,
        source=entry.paper.abs_url,
        date_source=DateSource.FRONT_MATTER,
        papers=(entry.paper,),
    )
    payload = render_discord_paper(entry.paper, stand_in, t)
    embed = payload["embeds"][0]
    # The renderer always starts the title with "N. ", and an arXiv entry has no N.
    number_prefix = f"{entry.paper.number}. "
    if embed["title"].startswith(number_prefix):
        embed["title"] = embed["title"][len(number_prefix) :]
    footer = f"{_ARXIV_FOOTER} · {published.date().isoformat()}" if published else _ARXIV_FOOTER
    embed["footer"] = {"text": footer}
    return payload


def _text_message(answer: Answer) -> DiscordMessagePayload:
    text = "\n".join(line for line in answer.lines if line.strip())
    if not text:
        _log.error("/paper answer of kind %s has no text; sending the generic error", answer.kind)
        text = translator(answer.locale)("error_internal")
    return render_discord_note(text)
