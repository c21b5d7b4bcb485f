"""The configuration reference in both READMEs matches the validator's key table."""

from __future__ import annotations

import pytest

from bot.config_loader import CHANNEL_KEYS, SCHEMA
from bot.config_reference import END_MARKER, READMES, START_MARKER, render_reference

from .conftest import REPO_ROOT


@pytest.mark.parametrize("locale", sorted(READMES))
def test_readme_reference_matches_schema(locale):
    text = (REPO_ROOT / READMES[locale]).read_text(encoding="utf-8")
    block = text[text.index(START_MARKER) + len(START_MARKER) : text.index(END_MARKER)]

    assert block.strip() == render_reference(locale), "run: python -m bot.config_reference"


@pytest.mark.parametrize("locale", sorted(READMES))
def test_reference_lists_every_key(locale):
    reference = render_reference(locale)
    keys = [f"{s.name}.{k.name}" if s.name else k.name for s in SCHEMA for k in s.keys]
    keys += [f"channels[].{k.name}" for k in CHANNEL_KEYS]

    for key in keys:
        assert f"| `{key}` |" in reference


def test_every_key_has_both_descriptions():
    for spec in [key for section in SCHEMA for key in section.keys] + list(CHANNEL_KEYS):
        assert spec.help.strip(), spec.name
        assert spec.help_ko.strip(), spec.name
        assert spec.help != spec.help_ko, spec.name


def test_example_config_uses_only_known_keys():
    from bot.config_loader import build_config

    build_config(REPO_ROOT / "config" / "example.yaml", require_tokens=False, environ={})
