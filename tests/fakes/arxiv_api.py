"""Fake arXiv API: an Atom query endpoint on 127.0.0.1 with failure injection.

Entries follow the layout of real arXiv API answers (Atom 1.0 with the `arxiv:` and
`opensearch:` namespaces). Their summaries and authors are placeholders written for tests.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from aiohttp import web

_FEED_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {query}</title>
  <id>http://arxiv.org/api/fake</id>
  <updated>2025-09-23T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:itemsPerPage>
"""

_ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v{version}</id>
    <updated>{published}</updated>
    <published>{published}</published>
    <title>{title}</title>
    <summary>{summary}</summary>
{authors}    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">12 pages</arxiv:comment>
    <link href="http://arxiv.org/abs/{id}v{version}" rel="alternate" type="text/html"/>
{pdf_link}    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"""

_VERSIONED_ID = re.compile(r"^(.+?)(?:v(\d+))?$")

_PDF_LINK = (
    '    <link title="pdf" href="http://arxiv.org/pdf/{id}v{version}" rel="related"'
    ' type="application/pdf"/>\n'
)


@dataclass
class FakeEntry:
    arxiv_id: str
    title: str
    version: int = 1
    summary: str = "Placeholder abstract served by the fake arXiv API."
    authors: tuple[str, ...] = ("Test Author",)
    published: str = "2025-09-22T17:59:14Z"
    has_pdf_link: bool = True

    def atom(self) -> str:
        values = {"id": self.arxiv_id, "version": self.version}
        authors = "".join(
            f"    <author>\n      <name>{escape(name)}</name>\n    </author>\n"
            for name in self.authors
        )
        return _ENTRY.format(
            **values,
            title=escape(self.title),
            summary=escape(self.summary),
            published=self.published,
            authors=authors,
            pdf_link=_PDF_LINK.format(**values) if self.has_pdf_link else "",
        )


DEFAULT_ENTRIES = (
    FakeEntry("2509.17765", "Qwen3-Omni Technical Report"),
    FakeEntry("2301.00001", "A Paper\n  With A Wrapped Title", version=2, has_pdf_link=False),
    FakeEntry("hep-th/9901001", "An Old-Style Identifier Entry"),
)


@dataclass
class FakeArxivApi:
    """The fake server's state: its entries, recorded queries and injected failures.

    `statuses` is a queue of HTTP statuses for the next requests; `hang` makes requests
    wait until `release()`; `body` replaces the next answers' bodies (malformed XML).
    """

    entries: dict[str, FakeEntry] = field(
        # Copies, so a test that edits an entry does not change the next test's server.
        default_factory=lambda: {entry.arxiv_id: replace(entry) for entry in DEFAULT_ENTRIES}
    )
    queries: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    body: bytes | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    @property
    def query_url_format(self) -> str:
        return self.base_url + "/api/query?{}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/query", self._query)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    def release(self) -> None:
        """Let hanging requests finish."""
        self._released.set()

    async def _query(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        if self.hang:
            await self._released.wait()
        if self.statuses:
            return web.Response(status=self.statuses.pop(0), text="error")
        if self.body is not None:
            return web.Response(body=self.body, content_type="application/atom+xml")
        return web.Response(text=self._feed(request), content_type="application/atom+xml")

    def _feed(self, request: web.Request) -> str:
        requested = [item for item in request.query.get("id_list", "").split(",") if item]
        found = [self._entry(item) for item in requested]
        entries = [entry for entry in found if entry is not None]
        head = _FEED_HEAD.format(query=escape(request.query_string), total=len(entries))
        return head + "".join(entry.atom() for entry in entries) + "</feed>\n"

    def _entry(self, requested_id: str) -> FakeEntry | None:
        match = _VERSIONED_ID.match(requested_id)
        if match is None:
            return None
        entry = self.entries.get(match.group(1))
        version = match.group(2)
        if entry is None or (version and int(version) > entry.version):
            return None
        return entry
