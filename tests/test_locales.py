"""Locale catalogs: every key in both languages, with the same placeholders, and every key used."""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n import SUPPORTED_LOCALES, Translator, load_catalog

from .conftest import REPO_ROOT

# Calls such as t("header", ...), translate("error_x"), self._t("key") in the bot package.
_KEY_USE = re.compile(r"""\b(?:t|_t|translate|translator|texts)\(\s*["']([a-z][a-z0-9_]*)["']""")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_ko_and_en_have_the_same_keys():
    ko, en = load_catalog("ko"), load_catalog("en")

    assert sorted(set(ko) - set(en)) == [], "keys missing in en.yaml"
    assert sorted(set(en) - set(ko)) == [], "keys missing in ko.yaml"


@pytest.mark.parametrize("key", sorted(load_catalog("en")))
def test_placeholders_match_across_locales(key):
    expected = placeholders(load_catalog("en")[key])

    for locale in SUPPORTED_LOCALES:
        assert placeholders(load_catalog(locale)[key]) == expected, (locale, key)


def test_every_key_used_in_code_exists():
    used: set[str] = set()
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        used.update(_KEY_USE.findall(path.read_text(encoding="utf-8")))
    catalog = load_catalog("en")

    assert used, "no translation calls found; the pattern no longer matches the code"
    assert sorted(used - set(catalog)) == []


def test_no_template_is_empty():
    for locale in SUPPORTED_LOCALES:
        empty = [key for key, template in load_catalog(locale).items() if not template.strip()]
        assert empty == [], locale


def test_unknown_locale_rejected():
    with pytest.raises(KeyError, match="unknown locale 'fr'"):
        Translator("fr")


def test_header_localized():
    assert Translator("ko")("header", title="Daily Papers", count=11) == "Daily Papers · 11편"
    assert Translator("en")("header", title="Daily Papers", count=11) == "Daily Papers · 11 papers"


# Written-out alternatives such as "을(를)" read as machine output. A Korean string puts its
# placeholder where no particle follows it, or after a noun such as "채널" that fixes the particle.
_PARTICLE_ALTERNATIVES = ("(를)", "(가)", "(는)", "(과)", "(으)로")


@pytest.mark.parametrize("alternative", _PARTICLE_ALTERNATIVES)
def test_korean_has_no_particle_alternatives(alternative):
    catalog = load_catalog("ko")

    assert [key for key, template in catalog.items() if alternative in template] == []
