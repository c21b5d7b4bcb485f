"""Errors raised while loading or parsing a digest.

`str(error)` is always one line, `<source>:<line>: <what is wrong>; <what to do>`, so the CLI can
print it as is and an operator can jump to the spot in an editor.
"""

from __future__ import annotations


def _single_line(text: str) -> str:
    return " ".join(text.split())


class DigestError(Exception):
    """A digest that cannot be loaded or parsed.

    Attributes:
        source: The path or URL the digest came from.
        line: 1-based line number of the problem, or None when it concerns the whole file.
        problem: What is wrong, for example "paper heading has no arXiv link".
        fix: What the author or operator can do about it.
    """

    def __init__(self, source: str, problem: str, fix: str, *, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.problem = _single_line(problem)
        self.fix = _single_line(fix)
        super().__init__(str(self))

    @property
    def message(self) -> str:
        """The problem and the fix without the location."""
        return f"{self.problem}; {self.fix}"

    def __str__(self) -> str:
        location = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{location}: {self.message}"


class NotADigestError(DigestError):
    """A readable markdown file in which no digest layout finds any paper."""
