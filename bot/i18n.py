"""Localized strings for everything a chat user or operator reads from the bot.

Strings live in `bot/locales/<locale>.yaml` as flat `key: template` maps with
`str.format` placeholders. Digest text never passes through here.
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

DEFAULT_LOCALE = "ko"
SUPPORTED_LOCALES = ("ko", "en")


@functools.cache
def load_catalog(locale: str) -> dict[str, str]:
    """Return the key → template map of `locale`; raise KeyError for an unknown locale."""
    if locale not in SUPPORTED_LOCALES:
        raise KeyError(f"unknown locale {locale!r}; expected one of {', '.join(SUPPORTED_LOCALES)}")
    text = resources.files("bot.locales").joinpath(f"{locale}.yaml").read_text(encoding="utf-8")
    catalog = yaml.safe_load(text)
    return {str(key): str(value) for key, value in catalog.items()}


class Translator:
    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = locale
        self._catalog = load_catalog(locale)

    def __call__(self, key: str, **values: object) -> str:
        """Return the template of `key` filled with `values`; raise KeyError for a missing key."""
        return self._catalog[key].format(**values)


def translator(locale: str | None) -> Translator:
    return Translator(locale or DEFAULT_LOCALE)
