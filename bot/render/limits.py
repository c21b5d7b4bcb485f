"""Platform limits of Slack and Discord messages, and validators that list every violation.

The renderers keep every payload within these limits, and the fake platform servers in
the tests reject payloads with exactly these rules. Lengths are counted in characters
(Unicode code points) of the final, escaped text, as both platforms count them.

NOTE: the numbers are the limits Slack documents for Block Kit and `chat.postMessage` and
Discord documents for embeds, messages and components. Of those, only the 3000-character
Slack text object maximum was checked against Slack's reference here, and the rules were
never run against the real services.
"""

from __future__ import annotations

import re
from typing import Any

SlackMessagePayload = dict[str, Any]
"""Keyword arguments of Slack `chat.postMessage`, as sent in its JSON body."""

DiscordMessagePayload = dict[str, Any]
"""JSON body of Discord "Create Message"."""

# Slack chat.postMessage and Block Kit.
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_MAX = 150
SLACK_SECTION_TEXT_MAX = 3000
SLACK_TEXT_OBJECT_MAX = 3000
SLACK_CONTEXT_MAX_ELEMENTS = 10
SLACK_ACTIONS_MAX_ELEMENTS = 25
SLACK_BUTTON_TEXT_MAX = 75
SLACK_BUTTON_URL_MAX = 3000
SLACK_ID_MAX = 255
# chat.postMessage truncates `text` longer than 40,000 characters.
SLACK_FALLBACK_TEXT_MAX = 40_000

# Discord create message.
DISCORD_CONTENT_MAX = 2000
DISCORD_MAX_EMBEDS = 10
DISCORD_EMBED_TITLE_MAX = 256
DISCORD_EMBED_DESCRIPTION_MAX = 4096
DISCORD_EMBED_MAX_FIELDS = 25
DISCORD_FIELD_NAME_MAX = 256
DISCORD_FIELD_VALUE_MAX = 1024
DISCORD_FOOTER_MAX = 2048
DISCORD_AUTHOR_MAX = 256
DISCORD_EMBEDS_TOTAL_MAX = 6000
DISCORD_NONCE_MAX = 25
DISCORD_MAX_ACTION_ROWS = 5
DISCORD_MAX_BUTTONS_PER_ROW = 5
DISCORD_BUTTON_LABEL_MAX = 80
DISCORD_BUTTON_URL_MAX = 512
DISCORD_LINK_BUTTON_STYLE = 5


def _text_problems(where: str, value: object, max_length: int) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: expected a string, got {type(value).__name__}"]
    problems = []
    if not value.strip():
        problems.append(f"{where}: empty")
    if len(value) > max_length:
        problems.append(f"{where}: {len(value)} characters, maximum {max_length}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(f"{where}: contains a lone surrogate")
    return problems


def _text_object_problems(
    where: str, obj: object, max_length: int, types: tuple[str, ...]
) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: expected a text object"]
    if obj.get("type") not in types:
        return [f"{where}.type: expected {' or '.join(types)}, got {obj.get('type')!r}"]
    return _text_problems(f"{where}.text", obj.get("text"), max_length)


def _slack_header(where: str, block: dict[str, Any]) -> list[str]:
    return _text_object_problems(
        f"{where}.text", block.get("text"), SLACK_HEADER_MAX, ("plain_text",)
    )


def _slack_section(where: str, block: dict[str, Any]) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"{where}: a section needs text or fields"]
    problems = []
    if "text" in block:
        problems += _text_object_problems(
            f"{where}.text", block["text"], SLACK_SECTION_TEXT_MAX, ("plain_text", "mrkdwn")
        )
    for index, item in enumerate(block.get("fields", [])):
        problems += _text_object_problems(
            f"{where}.fields[{index}]", item, 2000, ("plain_text", "mrkdwn")
        )
    if len(block.get("fields", [])) > 10:
        problems.append(f"{where}.fields: more than 10")
    return problems


def _slack_context(where: str, block: dict[str, Any]) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"{where}.elements: expected 1 to {SLACK_CONTEXT_MAX_ELEMENTS} elements"]
    problems = []
    if len(elements) > SLACK_CONTEXT_MAX_ELEMENTS:
        problems.append(
            f"{where}.elements: {len(elements)} elements, maximum {SLACK_CONTEXT_MAX_ELEMENTS}"
        )
    for index, element in enumerate(elements):
        problems += _text_object_problems(
            f"{where}.elements[{index}]", element, SLACK_TEXT_OBJECT_MAX, ("plain_text", "mrkdwn")
        )
    return problems


def _slack_button(where: str, element: dict[str, Any]) -> list[str]:
    problems = _text_object_problems(
        f"{where}.text", element.get("text"), SLACK_BUTTON_TEXT_MAX, ("plain_text",)
    )
    url = element.get("url")
    if url is not None:
        problems += _text_problems(f"{where}.url", url, SLACK_BUTTON_URL_MAX)
    action_id = element.get("action_id")
    if action_id is not None:
        problems += _text_problems(f"{where}.action_id", action_id, SLACK_ID_MAX)
    return problems


def _slack_actions(where: str, block: dict[str, Any]) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"{where}.elements: expected 1 to {SLACK_ACTIONS_MAX_ELEMENTS} elements"]
    problems = []
    if len(elements) > SLACK_ACTIONS_MAX_ELEMENTS:
        problems.append(
            f"{where}.elements: {len(elements)} elements, maximum {SLACK_ACTIONS_MAX_ELEMENTS}"
        )
    action_ids = [element.get("action_id") for element in elements if element.get("action_id")]
    if len(action_ids) != len(set(action_ids)):
        problems.append(f"{where}.elements: duplicate action_id")
    for index, element in enumerate(elements):
        if element.get("type") == "button":
            problems += _slack_button(f"{where}.elements[{index}]", element)
    return problems


def _slack_divider(where: str, block: dict[str, Any]) -> list[str]:
    return []


_SLACK_BLOCK_CHECKS = {
    "header": _slack_header,
    "section": _slack_section,
    "context": _slack_context,
    "actions": _slack_actions,
    "divider": _slack_divider,
}


def _slack_blocks(blocks: object) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks: expected a list"]
    problems = []
    if len(blocks) > SLACK_MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks, maximum {SLACK_MAX_BLOCKS}")
    block_ids = [
        block.get("block_id")
        for block in blocks
        if isinstance(block, dict) and block.get("block_id")
    ]
    if len(block_ids) != len(set(block_ids)):
        problems.append("blocks: duplicate block_id")
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        check = _SLACK_BLOCK_CHECKS.get(block.get("type")) if isinstance(block, dict) else None
        if check is None:
            problems.append(f"{where}.type: unsupported block {block!r:.60}")
            continue
        problems += check(where, block)
    return problems


def _slack_metadata(metadata: object) -> list[str]:
    if not isinstance(metadata, dict):
        return ["metadata: expected an object"]
    problems = []
    if not isinstance(metadata.get("event_type"), str) or not metadata.get("event_type"):
        problems.append("metadata.event_type: missing")
    if not isinstance(metadata.get("event_payload"), dict):
        problems.append("metadata.event_payload: expected an object")
    return problems


def slack_payload_problems(payload: SlackMessagePayload) -> list[str]:
    """List every way `payload` breaks a `chat.postMessage` limit; empty when it is valid.

    Slack rejects block problems with `invalid_blocks` and `text` over 40,000 characters
    with `msg_too_long`.
    """
    problems = _text_problems("channel", payload.get("channel"), 255)
    problems += _text_problems("text", payload.get("text"), SLACK_FALLBACK_TEXT_MAX)
    if "blocks" in payload:
        problems += _slack_blocks(payload["blocks"])
    if "metadata" in payload:
        problems += _slack_metadata(payload["metadata"])
    return problems


def _discord_field(where: str, item: object) -> tuple[list[str], int]:
    if not isinstance(item, dict):
        return [f"{where}: expected an object"], 0
    name, value = item.get("name"), item.get("value")
    problems = _text_problems(f"{where}.name", name, DISCORD_FIELD_NAME_MAX)
    problems += _text_problems(f"{where}.value", value, DISCORD_FIELD_VALUE_MAX)
    return problems, len(name if isinstance(name, str) else "") + len(
        value if isinstance(value, str) else ""
    )


def _discord_embed(where: str, embed: dict[str, Any]) -> tuple[list[str], int]:
    """Check one embed; return its problems and its text length toward the 6000 total."""
    problems: list[str] = []
    total = 0
    for key, max_length in (
        ("title", DISCORD_EMBED_TITLE_MAX),
        ("description", DISCORD_EMBED_DESCRIPTION_MAX),
    ):
        if key in embed:
            problems += _text_problems(f"{where}.{key}", embed[key], max_length)
            total += len(embed[key]) if isinstance(embed[key], str) else 0
    for key, inner, max_length in (
        ("footer", "text", DISCORD_FOOTER_MAX),
        ("author", "name", DISCORD_AUTHOR_MAX),
    ):
        if key in embed:
            text = embed[key].get(inner) if isinstance(embed[key], dict) else None
            problems += _text_problems(f"{where}.{key}.{inner}", text, max_length)
            total += len(text) if isinstance(text, str) else 0
    fields = embed.get("fields", [])
    if len(fields) > DISCORD_EMBED_MAX_FIELDS:
        problems.append(f"{where}.fields: {len(fields)} fields, maximum {DISCORD_EMBED_MAX_FIELDS}")
    for index, item in enumerate(fields):
        field_problems, length = _discord_field(f"{where}.fields[{index}]", item)
        problems += field_problems
        total += length
    return problems, total


def _discord_embeds(embeds: object) -> list[str]:
    if not isinstance(embeds, list):
        return ["embeds: expected a list"]
    problems = []
    if len(embeds) > DISCORD_MAX_EMBEDS:
        problems.append(f"embeds: {len(embeds)} embeds, maximum {DISCORD_MAX_EMBEDS}")
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            problems.append(f"embeds[{index}]: expected an object")
            continue
        embed_problems, length = _discord_embed(f"embeds[{index}]", embed)
        problems += embed_problems
        total += length
    if total > DISCORD_EMBEDS_TOTAL_MAX:
        problems.append(
            f"embeds: {total} characters of text in all embeds, maximum {DISCORD_EMBEDS_TOTAL_MAX}"
        )
    return problems


def _discord_button(where: str, button: dict[str, Any]) -> list[str]:
    if button.get("type") != 2:
        return [f"{where}.type: expected 2 (button), got {button.get('type')!r}"]
    problems = []
    if "label" in button:
        problems += _text_problems(f"{where}.label", button["label"], DISCORD_BUTTON_LABEL_MAX)
    if button.get("style") == DISCORD_LINK_BUTTON_STYLE:
        problems += _text_problems(f"{where}.url", button.get("url"), DISCORD_BUTTON_URL_MAX)
        if "custom_id" in button:
            problems.append(f"{where}.custom_id: not allowed on a link button")
    elif "custom_id" not in button:
        problems.append(f"{where}.custom_id: missing")
    return problems


def _discord_components(rows: object) -> list[str]:
    if not isinstance(rows, list):
        return ["components: expected a list"]
    problems = []
    if len(rows) > DISCORD_MAX_ACTION_ROWS:
        problems.append(f"components: {len(rows)} rows, maximum {DISCORD_MAX_ACTION_ROWS}")
    for index, row in enumerate(rows):
        where = f"components[{index}]"
        if not isinstance(row, dict) or row.get("type") != 1:
            problems.append(f"{where}.type: expected 1 (action row)")
            continue
        buttons = row.get("components", [])
        if not buttons or len(buttons) > DISCORD_MAX_BUTTONS_PER_ROW:
            problems.append(
                f"{where}.components: expected 1 to {DISCORD_MAX_BUTTONS_PER_ROW} buttons"
            )
        for position, button in enumerate(buttons):
            problems += _discord_button(f"{where}.components[{position}]", button)
    return problems


def _discord_nonce(payload: DiscordMessagePayload) -> list[str]:
    nonce = payload.get("nonce")
    problems = []
    if isinstance(nonce, str) and len(nonce) > DISCORD_NONCE_MAX:
        problems.append(f"nonce: {len(nonce)} characters, maximum {DISCORD_NONCE_MAX}")
    elif nonce is not None and not isinstance(nonce, str | int):
        problems.append("nonce: expected a string or an integer")
    if payload.get("enforce_nonce") and nonce is None:
        problems.append("enforce_nonce: set without a nonce")
    return problems


def discord_payload_problems(payload: DiscordMessagePayload) -> list[str]:
    """List every way `payload` breaks a Discord create-message limit; empty when it is valid.

    Discord rejects these with HTTP 400 and error code 50035 (invalid form body), or
    50006 (empty message) when there is neither content nor an embed nor a component.
    """
    problems = []
    if not any(payload.get(key) for key in ("content", "embeds", "components")):
        problems.append("message: empty, needs content, embeds or components")
    if "content" in payload:
        problems += _text_problems("content", payload["content"], DISCORD_CONTENT_MAX)
    if "embeds" in payload:
        problems += _discord_embeds(payload["embeds"])
    if "components" in payload:
        problems += _discord_components(payload["components"])
    problems += _discord_nonce(payload)
    return problems


# Mention syntax that would notify someone if it reached the platform unescaped.
_SLACK_LIVE_MENTION = re.compile(r"<[!@#][^>]*>|(?<!\w)@(channel|here|everyone)\b")
_DISCORD_LIVE_MENTION = re.compile(r"(?<!\\)<(@[!&]?\d+|#\d+)>|@(everyone|here)")


def _slack_texts(payload: SlackMessagePayload) -> list[tuple[str, str]]:
    """(where, text) of every mrkdwn text in `payload`: the fallback and block text objects."""
    texts = [("text", payload.get("text", ""))]
    for index, block in enumerate(payload.get("blocks", [])):
        objects = (
            [block.get("text")] + list(block.get("elements", [])) + list(block.get("fields", []))
        )
        for position, obj in enumerate(objects):
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                texts.append((f"blocks[{index}][{position}]", obj.get("text", "")))
    return texts


def slack_mention_problems(payload: SlackMessagePayload) -> list[str]:
    """List live mentions in mrkdwn text: `<!here>`, `<@U…>`, `<#C…>`, `<!subteam^…>`, `@here`."""
    problems = []
    for where, text in _slack_texts(payload):
        for match in _SLACK_LIVE_MENTION.finditer(text):
            problems.append(f"{where}: live mention {match.group()!r}")
    return problems


def _discord_texts(payload: DiscordMessagePayload) -> list[tuple[str, str]]:
    texts = [("content", payload.get("content") or "")]
    for index, embed in enumerate(payload.get("embeds", [])):
        where = f"embeds[{index}]"
        texts += [
            (f"{where}.title", embed.get("title", "")),
            (f"{where}.description", embed.get("description", "")),
        ]
        texts.append((f"{where}.footer", embed.get("footer", {}).get("text", "")))
        texts.append((f"{where}.author", embed.get("author", {}).get("name", "")))
        for position, item in enumerate(embed.get("fields", [])):
            texts.append(
                (f"{where}.fields[{position}]", item.get("name", "") + "\n" + item.get("value", ""))
            )
    return texts


def discord_mention_problems(payload: DiscordMessagePayload) -> list[str]:
    """List mentions that could ping or render: missing `allowed_mentions`, or raw mentions."""
    problems = []
    if payload.get("allowed_mentions") != {"parse": []}:
        problems.append(
            f"allowed_mentions: expected {{'parse': []}}, got {payload.get('allowed_mentions')!r}"
        )
    for where, text in _discord_texts(payload):
        for match in _DISCORD_LIVE_MENTION.finditer(text):
            problems.append(f"{where}: live mention {match.group()!r}")
    return problems
