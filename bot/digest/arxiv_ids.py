"""arXiv identifiers: validation, normalization and extraction from paper URLs.

Two identifier schemes exist (https://info.arxiv.org/help/arxiv_identifier.html):

- new style since April 2007, `YYMM.NNNN` up to 2014 and `YYMM.NNNNN` from 2015 on;
- old style before that, `archive(.SC)/YYMMNNN`, for example `hep-th/9901001` or `math.GT/0309136`.

Either may carry a version suffix `vN`, which `ArxivRef` keeps apart from the id.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# re.ASCII keeps `\d` and `[a-z]` to ASCII, so digits of other scripts never form an id.
_NEW_STYLE = re.compile(
    r"(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<number>\d{4,5})(?:v(?P<version>[1-9]\d*))?", re.ASCII
)
_OLD_STYLE = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.(?P<subject>[a-z]{2}))?"
    r"/(?P<yy>\d{2})(?P<mm>\d{2})(?P<number>\d{3})(?:v(?P<version>[1-9]\d*))?",
    re.IGNORECASE | re.ASCII,
)
_PREFIX = re.compile(r"arxiv:\s*", re.IGNORECASE)

# New-style ids started in 2007-04; the number grew from 4 to 5 digits in 2015-01.
_FIRST_NEW_STYLE_YYMM = 704
_FIRST_FIVE_DIGIT_YYMM = 1501
# Old-style ids ran from 1991 to 2007-03; a two-digit year of 91..99 means the 1900s.
_OLD_STYLE_FIRST_CENTURY_YEAR = 91
_OLD_STYLE_LAST_YYMM = 703


@dataclass(frozen=True)
class ArxivRef:
    """A validated arXiv identifier.

    Attributes:
        id: The identifier without version, `2509.17765` or `hep-th/9901001`.
        version: The version number of a `vN` suffix, or None when the text had none.
    """

    id: str
    version: int | None = None

    @property
    def versioned_id(self) -> str:
        """The id with its `vN` suffix when a version is known."""
        return self.id if self.version is None else f"{self.id}v{self.version}"


class ArxivSite(enum.StrEnum):
    """A website whose paper URLs contain an arXiv id."""

    ARXIV = "arxiv"
    ALPHAXIV = "alphaxiv"
    HUGGINGFACE = "huggingface"


_SITES_BY_HOST = {
    "arxiv.org": ArxivSite.ARXIV,
    "www.arxiv.org": ArxivSite.ARXIV,
    "export.arxiv.org": ArxivSite.ARXIV,
    "alphaxiv.org": ArxivSite.ALPHAXIV,
    "www.alphaxiv.org": ArxivSite.ALPHAXIV,
    "huggingface.co": ArxivSite.HUGGINGFACE,
    "www.huggingface.co": ArxivSite.HUGGINGFACE,
}
_LANGUAGE_SEGMENT = re.compile(r"[a-z]{2}(?:-[A-Za-z]{2,4})?", re.ASCII)


def _version(match: re.Match[str]) -> int | None:
    return int(match["version"]) if match["version"] else None


def _parse_new_style(text: str) -> ArxivRef | None:
    match = _NEW_STYLE.fullmatch(text)
    if match is None:
        return None
    yymm = int(match["yy"]) * 100 + int(match["mm"])
    if not 1 <= int(match["mm"]) <= 12 or yymm < _FIRST_NEW_STYLE_YYMM:
        return None
    expected_digits = 5 if yymm >= _FIRST_FIVE_DIGIT_YYMM else 4
    if len(match["number"]) != expected_digits or int(match["number"]) == 0:
        return None
    return ArxivRef(f"{match['yy']}{match['mm']}.{match['number']}", _version(match))


def _old_style_date_is_valid(yy: int, mm: int) -> bool:
    if not 1 <= mm <= 12:
        return False
    if yy >= _OLD_STYLE_FIRST_CENTURY_YEAR:
        return True
    return yy * 100 + mm <= _OLD_STYLE_LAST_YYMM


def _parse_old_style(text: str) -> ArxivRef | None:
    match = _OLD_STYLE.fullmatch(text)
    if match is None:
        return None
    if not _old_style_date_is_valid(int(match["yy"]), int(match["mm"])):
        return None
    if int(match["number"]) == 0:
        return None
    # Archives are lower case and subject classes upper case: `math.GT/0309136`.
    archive = match["archive"].lower()
    if match["subject"]:
        archive = f"{archive}.{match['subject'].upper()}"
    return ArxivRef(f"{archive}/{match['yy']}{match['mm']}{match['number']}", _version(match))


def parse_arxiv_id(text: str) -> ArxivRef | None:
    """Parse a bare arXiv identifier such as `2509.17765v2`, `arXiv:2509.17765` or `hep-th/9901001`.

    Surrounding whitespace and an `arXiv:` prefix are ignored. URLs are not accepted here; use
    `arxiv_id_from_url` for them.

    Args:
        text: The identifier as a person or a digest wrote it.

    Returns:
        The normalized reference, or None when `text` is not a valid identifier (an impossible
        month, a number with the wrong digit count for its month, a `v0` suffix, extra text).
    """
    candidate = _PREFIX.sub("", text.strip(), count=1).strip()
    return _parse_new_style(candidate) or _parse_old_style(candidate)


def _split_url(url: str) -> tuple[ArxivSite, list[str]] | None:
    """Return the site and the path segments of an http(s) URL on a known site, or None."""
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or host is None:
        return None
    site = _SITES_BY_HOST.get(host)
    if site is None:
        return None
    return site, [segment for segment in parts.path.split("/") if segment]


def site_of_url(url: str) -> ArxivSite | None:
    """Return the paper site a URL points to (whatever its path), or None for other hosts."""
    split = _split_url(url)
    return None if split is None else split[0]


def _id_path(site: ArxivSite, segments: list[str]) -> str | None:
    """Return the part of a URL path that contains the id on `site`, or None for other pages."""
    match site, segments:
        case ArxivSite.ARXIV, ["abs" | "pdf" as kind, *rest] if rest:
            joined = "/".join(rest)
            return joined.removesuffix(".pdf") if kind == "pdf" else joined
        case ArxivSite.ALPHAXIV, ["abs" | "overview", *rest] if rest:
            return "/".join(rest)
        case ArxivSite.ALPHAXIV, [language, "overview", *rest] if rest and (
            _LANGUAGE_SEGMENT.fullmatch(language)
        ):
            return "/".join(rest)
        case ArxivSite.HUGGINGFACE, ["papers", *rest] if rest:
            return "/".join(rest)
    return None


def parse_arxiv_url(url: str) -> tuple[ArxivSite, ArxivRef] | None:
    """Parse a paper URL on arxiv.org, alphaxiv.org or huggingface.co into its site and id.

    Accepted shapes: `arxiv.org/abs/<id>`, `arxiv.org/pdf/<id>[.pdf]` (also `www.` and
    `export.`), `alphaxiv.org/abs/<id>`, `alphaxiv.org/[<lang>/]overview/<id>` and
    `huggingface.co/papers/<id>`, over http or https. A URL without a scheme is read as https.
    Query strings and fragments are ignored.

    Returns:
        The site and the reference, or None for any other URL or an invalid id.
    """
    split = _split_url(url)
    if split is None:
        return None
    site, segments = split
    id_path = _id_path(site, segments)
    if id_path is None:
        return None
    ref = parse_arxiv_id(id_path)
    return None if ref is None else (site, ref)


def arxiv_id_from_url(url: str) -> ArxivRef | None:
    """Return the arXiv id in a paper URL, or None; see `parse_arxiv_url` for accepted URLs."""
    parsed = parse_arxiv_url(url)
    return None if parsed is None else parsed[1]
