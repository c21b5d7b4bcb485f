"""arXiv id parsing: both id schemes, versions, paper URLs, and rejection of look-alikes."""

from __future__ import annotations

import pytest

from bot.digest.arxiv_ids import (
    ArxivRef,
    ArxivSite,
    arxiv_id_from_url,
    parse_arxiv_id,
    parse_arxiv_url,
    site_of_url,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2509.17765", ArxivRef("2509.17765", None)),
        ("2509.17765v2", ArxivRef("2509.17765", 2)),
        ("2509.17765v12", ArxivRef("2509.17765", 12)),
        ("  2509.17765  ", ArxivRef("2509.17765", None)),
        ("arXiv:2509.17765v1", ArxivRef("2509.17765", 1)),
        ("ARXIV: 2509.17765", ArxivRef("2509.17765", None)),
        ("0704.0001", ArxivRef("0704.0001", None)),
        ("1412.9999", ArxivRef("1412.9999", None)),
        ("1501.00001", ArxivRef("1501.00001", None)),
        ("hep-th/9901001", ArxivRef("hep-th/9901001", None)),
        ("hep-th/9901001v1", ArxivRef("hep-th/9901001", 1)),
        ("math.GT/0309136", ArxivRef("math.GT/0309136", None)),
        ("math.gt/0309136v3", ArxivRef("math.GT/0309136", 3)),
        ("HEP-TH/9901001", ArxivRef("hep-th/9901001", None)),
        ("astro-ph/0703999", ArxivRef("astro-ph/0703999", None)),
    ],
)
def test_parse_arxiv_id_valid(text: str, expected: ArxivRef) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "9999.99999999",
        "2513.00001",  # month 13
        "2500.12345",  # month 0
        "2509.1776",  # 4 digits after 2015
        "1412.12345",  # 5 digits before 2015
        "0703.1234",  # before new-style ids began
        "2509.00000",
        "2509.17765v0",
        "2509.17765v",
        "2509.17765 v2",
        "2509-17765",
        "x2509.17765",
        "2509.17765.pdf",
        "hep-th/0704001",  # old style ended in March 2007
        "hep-th/9913001",  # month 13
        "hep-th/990100",
        "hep-th/99010011",
        "/9901001",
        "٢٥٠٩.١٧٧٦٥",  # Arabic-Indic digits are not arXiv digits
        "https://arxiv.org/abs/2509.17765",
    ],
)
def test_parse_arxiv_id_rejects(text: str) -> None:
    assert parse_arxiv_id(text) is None


def test_versioned_id_includes_version() -> None:
    assert ArxivRef("2509.17765", 2).versioned_id == "2509.17765v2"
    assert ArxivRef("hep-th/9901001", None).versioned_id == "hep-th/9901001"


@pytest.mark.parametrize(
    ("url", "site", "expected"),
    [
        ("https://arxiv.org/abs/2509.17765", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("http://arxiv.org/abs/2508.21824v1", ArxivSite.ARXIV, ArxivRef("2508.21824", 1)),
        ("https://www.arxiv.org/abs/2509.17765/", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("https://export.arxiv.org/abs/2509.17765", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("https://arxiv.org/pdf/2509.17765", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("https://arxiv.org/pdf/2509.17765v2.pdf", ArxivSite.ARXIV, ArxivRef("2509.17765", 2)),
        ("http://arxiv.org/pdf/2509.17765.pdf", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("https://arxiv.org/abs/hep-th/9901001v1", ArxivSite.ARXIV, ArxivRef("hep-th/9901001", 1)),
        ("https://arxiv.org/pdf/math.GT/0309136", ArxivSite.ARXIV, ArxivRef("math.GT/0309136")),
        ("https://arxiv.org/abs/2509.17765?context=cs#x", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("arxiv.org/abs/2509.17765", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        ("HTTPS://ARXIV.ORG/abs/2509.17765", ArxivSite.ARXIV, ArxivRef("2509.17765")),
        (
            "https://www.alphaxiv.org/ko/overview/2509.17765",
            ArxivSite.ALPHAXIV,
            ArxivRef("2509.17765"),
        ),
        ("https://alphaxiv.org/overview/2509.17765", ArxivSite.ALPHAXIV, ArxivRef("2509.17765")),
        (
            "https://www.alphaxiv.org/abs/2509.17765v3",
            ArxivSite.ALPHAXIV,
            ArxivRef("2509.17765", 3),
        ),
        (
            "https://www.alphaxiv.org/zh-CN/overview/2509.17765",
            ArxivSite.ALPHAXIV,
            ArxivRef("2509.17765"),
        ),
        ("https://huggingface.co/papers/2509.17765", ArxivSite.HUGGINGFACE, ArxivRef("2509.17765")),
    ],
)
def test_parse_arxiv_url_valid(url: str, site: ArxivSite, expected: ArxivRef) -> None:
    assert parse_arxiv_url(url) == (site, expected)
    assert arxiv_id_from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://arxiv.org/",
        "https://arxiv.org/abs/",
        "https://arxiv.org/abs/9999.99999999",
        "https://arxiv.org/list/cs.CL/recent",
        "https://arxiv.org/html/2509.17765",
        "https://example.com/abs/2509.17765",
        "https://arxiv.org.example.com/abs/2509.17765",
        "ftp://arxiv.org/abs/2509.17765",
        "javascript:alert(1)",
        "https://huggingface.co/papers?date=2023-09-10",
        "https://huggingface.co/papers",
        "https://huggingface.co/datasets/2509.17765",
        "https://www.alphaxiv.org/ko/abstract/2509.17765",
        "https://www.alphaxiv.org/../overview/2509.17765",
        "http://[::1",
    ],
)
def test_parse_arxiv_url_rejects(url: str) -> None:
    assert parse_arxiv_url(url) is None
    assert arxiv_id_from_url(url) is None


def test_site_of_url_ignores_path() -> None:
    assert site_of_url("https://huggingface.co/papers?date=2023-09-10") is ArxivSite.HUGGINGFACE
    assert site_of_url("https://arxiv.org/abs/not-an-id") is ArxivSite.ARXIV
    assert site_of_url("https://example.com/abs/2509.17765") is None
