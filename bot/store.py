"""SQLite store (aiosqlite, WAL): digests, papers with full-text search, ledger, caches.

All SQL of the bot lives here, so a PostgreSQL store can replace this module without
touching its callers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from bot import search
from bot.clock import Clock, SystemClock
from bot.digest.model import Bullet, DateSource, Digest, Link, LinkKind, Paper, Section
from bot.ledger import DeliveryRecord, DeliveryStatus
from bot.search import SearchHit, Suggestion
from bot.store_migrations import LATEST_VERSION, MIGRATIONS, VACUUM_AFTER

_log = logging.getLogger(__name__)

# Milliseconds a connection waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 5000

# bm25 column weights for (arxiv_id, title, body): an id or title hit outranks body text.
_BM25_WEIGHTS = (50.0, 10.0, 1.0)
# Score of a hit whose arXiv id was typed in the query; bm25 scores stay far below it.
_EXACT_ID_SCORE = 1e6
# Bonus that lifts a paper whose title contains every query term above body-only hits.
_TITLE_BONUS = 1000.0


def series_key(source: str) -> str:
    """Return the file name of a digest's path or URL, which names its series and date.

    The same post loaded by path (`paperbot post --digest`), from the folder source or over
    HTTP then shares one row instead of three.
    """
    name = PurePosixPath(
        urlsplit(source).path if "://" in source else source.replace("\\", "/")
    ).name
    return name or source


class SaveOutcome(enum.StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Appearance:
    """One listing of a paper in a digest."""

    arxiv_id: str
    date: dt.date
    number: int
    source: str
    digest_title: str


@dataclass(frozen=True)
class CachedMetadata:
    """arXiv metadata stored by an earlier lookup."""

    arxiv_id: str
    metadata: dict[str, Any]
    fetched_at: dt.datetime


class Store:
    """The bot's state in one SQLite database; create it with `await Store.open(path)`.

    Every task shares one connection, and a connection reads its own uncommitted writes. So
    a save's transaction and every other statement take turns on one lock. A read then never
    returns a half-rewritten digest, and a second save never runs BEGIN inside the first.
    """

    def __init__(self, connection: aiosqlite.Connection, clock: Clock) -> None:
        self._db = connection
        self._clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, clock: Clock | None = None) -> Store:
        """Open (creating if needed) the database at `path` and migrate it to the latest schema.

        `":memory:"` opens a private in-memory database, which has no WAL journal.
        """
        connection = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await _configure(connection)
            await migrate(connection)
            store = cls(connection, clock or SystemClock())
            await store._index_unindexed_papers()
        except BaseException:
            await connection.close()
            raise
        return store

    async def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        await self._db.close()

    def ledger(self) -> SqliteLedger:
        """Return the delivery ledger kept in this database."""
        return SqliteLedger(self._db, self._lock)

    async def journal_mode(self) -> str:
        """Return SQLite's journal mode (`wal` for a file database)."""
        row = await _one(self._db, "PRAGMA journal_mode")
        return str(row[0])

    async def size_bytes(self) -> int:
        """Return the size of the database in bytes (page count times page size)."""
        pages = await _one(self._db, "PRAGMA page_count")
        page_size = await _one(self._db, "PRAGMA page_size")
        return int(pages[0]) * int(page_size[0])

    # Digests and papers

    async def save_digest(self, digest: Digest, content_hash: str) -> SaveOutcome:
        """Store `digest` keyed by (date, source); saving the same content again does nothing.

        A changed digest replaces that day's appearances. A paper's own row (title, text,
        search index) follows its most recent digest, so an older digest saved later does
        not overwrite newer text.
        """
        async with self._lock:
            return await self._save_digest(digest, content_hash)

    async def _save_digest(self, digest: Digest, content_hash: str) -> SaveOutcome:
        rows = await self._db.execute_fetchall(
            "SELECT id, content_hash FROM digests WHERE date = ? AND source = ?",
            (digest.date.isoformat(), series_key(digest.source)),
        )
        row = next(iter(rows), None)
        if row is not None and row[1] == content_hash:
            return SaveOutcome.UNCHANGED

        await self._db.execute("BEGIN IMMEDIATE")
        try:
            digest_id, replaced = await self._write_digest_row(digest, content_hash, row)
            await self._write_papers(digest_id, digest.papers, digest.date)
            await self._delete_unused_texts(replaced)
            await self._db.execute("COMMIT")
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise

        outcome = SaveOutcome.NEW if row is None else SaveOutcome.CHANGED
        _log.debug("digest %s (%s) saved: %s", digest.date, digest.source, outcome)
        return outcome

    async def _write_digest_row(
        self, digest: Digest, content_hash: str, existing: Sequence[Any] | None
    ) -> tuple[int, list[str]]:
        """Insert or update the digest row; return its id and the ids it listed before."""
        loaded_at = self._clock.now().isoformat()
        values = (digest.title, digest.date_source.value, digest.url, content_hash, loaded_at)
        if existing is None:
            cursor = await self._db.execute(
                "INSERT INTO digests (title, date_source, url, content_hash, loaded_at, date,"
                " source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*values, digest.date.isoformat(), series_key(digest.source)),
            )
            return int(cursor.lastrowid or 0), []

        digest_id = int(existing[0])
        await self._db.execute(
            "UPDATE digests SET title = ?, date_source = ?, url = ?, content_hash = ?,"
            " loaded_at = ? WHERE id = ?",
            (*values, digest_id),
        )
        replaced = await self._db.execute_fetchall(
            "DELETE FROM appearances WHERE digest_id = ? RETURNING arxiv_id", (digest_id,)
        )
        return digest_id, [arxiv_id for (arxiv_id,) in replaced]

    async def _write_papers(self, digest_id: int, papers: Sequence[Paper], date: dt.date) -> None:
        """Store the texts, paper rows, search rows and appearances of one digest's papers.

        Statements are batched per table, because each aiosqlite call is a round trip to
        its worker thread, and one call per paper dominated backfill time.
        """
        stored = await self._stored_papers(list(dict.fromkeys(p.arxiv_id for p in papers)))
        next_paper_id, next_text_id = await self._next_ids()
        texts = _TextIds(next_text_id)
        for arxiv_id, paper in stored.items():
            texts.add_known(arxiv_id, paper.texts)
        text_ids = [texts.id_for(paper) for paper in papers]
        await self._db.executemany(
            "INSERT INTO paper_texts (id, arxiv_id, paper_json) VALUES (?, ?, ?)", texts.new_rows
        )

        # When a digest lists a paper twice, its last listing sets the paper row.
        by_id = {item[0].arxiv_id: item for item in zip(papers, text_ids, strict=True)}
        fresh = [item for arxiv_id, item in by_id.items() if arxiv_id not in stored]
        newer = [
            (stored[arxiv_id], *item)
            for arxiv_id, item in by_id.items()
            if arxiv_id in stored and stored[arxiv_id].last_date <= date.isoformat()
        ]
        await self._insert_papers(fresh, next_paper_id, date)
        await self._update_papers(newer, date)
        await self._db.executemany(
            "INSERT INTO appearances (digest_id, number, arxiv_id, text_id) VALUES (?, ?, ?, ?)",
            [
                (digest_id, paper.number, paper.arxiv_id, text_id)
                for paper, text_id in zip(papers, text_ids, strict=True)
            ],
        )

    async def _stored_papers(self, arxiv_ids: list[str]) -> dict[str, _StoredPaper]:
        """Return the stored rows and every stored text of the papers in `arxiv_ids`."""
        stored: dict[str, _StoredPaper] = {}
        # SQLite allows at most 999 bound parameters per statement before 3.32.
        for start in range(0, len(arxiv_ids), 500):
            chunk = arxiv_ids[start : start + 500]
            placeholders = ", ".join("?" for _ in chunk)
            rows = await self._db.execute_fetchall(
                "SELECT p.arxiv_id, p.id, p.last_date, p.text_id, t.id, t.paper_json"  # noqa: S608
                " FROM papers p JOIN paper_texts t ON t.arxiv_id = p.arxiv_id"
                f" WHERE p.arxiv_id IN ({placeholders})",
                chunk,
            )
            for arxiv_id, row_id, last_date, text_id, known_id, known_json in rows:
                paper = stored.setdefault(
                    arxiv_id, _StoredPaper(int(row_id), last_date, int(text_id), {})
                )
                paper.texts[known_json] = int(known_id)
        return stored

    async def _next_ids(self) -> tuple[int, int]:
        """Return the next free row ids of papers and paper_texts.

        The caller holds the write lock, so no other connection can take these ids.
        """
        rows = await self._db.execute_fetchall(
            "SELECT (SELECT max(id) FROM papers), (SELECT max(id) FROM paper_texts)"
        )
        paper_id, text_id = next(iter(rows))
        return (paper_id or 0) + 1, (text_id or 0) + 1

    async def _insert_papers(
        self, fresh: list[tuple[Paper, int]], first_id: int, date: dt.date
    ) -> None:
        if not fresh:
            return
        rows = [
            (first_id + offset, paper, text_id) for offset, (paper, text_id) in enumerate(fresh)
        ]
        await self._db.executemany(
            "INSERT INTO papers (id, arxiv_id, title, number, text_id, last_date)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (row_id, paper.arxiv_id, paper.title, paper.number, text_id, date.isoformat())
                for row_id, paper, text_id in rows
            ],
        )
        await self._db.executemany(
            "INSERT INTO paper_search (rowid, arxiv_id, title, body) VALUES (?, ?, ?, ?)",
            [(row_id, *_search_columns(paper)) for row_id, paper, _ in rows],
        )

    async def _update_papers(
        self, newer: list[tuple[_StoredPaper, Paper, int]], date: dt.date
    ) -> None:
        if not newer:
            return
        await self._db.executemany(
            "UPDATE papers SET title = ?, number = ?, text_id = ?, last_date = ? WHERE id = ?",
            [
                (paper.title, paper.number, text_id, date.isoformat(), stored.row_id)
                for stored, paper, text_id in newer
            ],
        )
        # A contentless FTS5 table deletes a row only when given the values it indexed.
        changed = [
            (stored.row_id, old, new)
            for stored, paper, text_id in newer
            if text_id != stored.text_id
            and (old := _search_columns(stored.current_paper())) != (new := _search_columns(paper))
        ]
        await self._db.executemany(
            "INSERT INTO paper_search (paper_search, rowid, arxiv_id, title, body)"
            " VALUES ('delete', ?, ?, ?, ?)",
            [(row_id, *old) for row_id, old, _ in changed],
        )
        await self._db.executemany(
            "INSERT INTO paper_search (rowid, arxiv_id, title, body) VALUES (?, ?, ?, ?)",
            [(row_id, *new) for row_id, _, new in changed],
        )

    async def _delete_unused_texts(self, arxiv_ids: list[str]) -> None:
        """Delete the texts of `arxiv_ids` that no appearance and no paper row points at."""
        if not arxiv_ids:
            return
        # One JSON array parameter, so any number of ids fits in one statement.
        await self._db.execute(
            "WITH ids AS (SELECT value AS arxiv_id FROM json_each(?))"
            " DELETE FROM paper_texts WHERE arxiv_id IN ids"
            " AND id NOT IN (SELECT text_id FROM appearances WHERE arxiv_id IN ids)"
            " AND id NOT IN (SELECT text_id FROM papers WHERE arxiv_id IN ids)",
            (json.dumps(arxiv_ids),),
        )

    async def _index_unindexed_papers(self) -> None:
        """Index papers that have no search row, such as all papers after migration 4."""
        rows = await self._db.execute_fetchall(
            "SELECT p.id, p.number, t.paper_json FROM papers p"
            " JOIN paper_texts t ON t.id = p.text_id"
            " WHERE p.id NOT IN (SELECT rowid FROM paper_search)"
        )
        if not rows:
            return
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.executemany(
                "INSERT INTO paper_search (rowid, arxiv_id, title, body) VALUES (?, ?, ?, ?)",
                [
                    (row_id, *_search_columns(_paper_from_json(text, number)))
                    for row_id, number, text in rows
                ],
            )
            await self._db.execute("COMMIT")
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        _log.info("indexed %d papers for search", len(rows))

    async def digest_for(self, date: dt.date, source: str | None = None) -> Digest | None:
        """Rebuild the digest of `date` as saved, or None.

        With several series on one date and no `source`, the one saved first is returned.
        """
        async with self._lock:
            return await self._digest_for(date, source)

    async def _digest_for(self, date: dt.date, source: str | None = None) -> Digest | None:
        sql = "SELECT id, date, source, title, date_source, url FROM digests WHERE date = ?"
        params: tuple[Any, ...] = (date.isoformat(),)
        if source is not None:
            sql += " AND source = ?"
            params += (series_key(source),)
        row = await _one(self._db, sql + " ORDER BY id LIMIT 1", params)
        if row is None:
            return None

        paper_rows = await self._db.execute_fetchall(
            "SELECT t.paper_json, a.number FROM appearances a"
            " JOIN paper_texts t ON t.id = a.text_id WHERE a.digest_id = ? ORDER BY a.number",
            (row[0],),
        )
        return Digest(
            date=dt.date.fromisoformat(row[1]),
            source=row[2],
            title=row[3],
            date_source=DateSource(row[4]),
            url=row[5],
            papers=tuple(_paper_from_json(text, number) for text, number in paper_rows),
        )

    async def latest_digest_date(self, on_or_before: dt.date | None = None) -> dt.date | None:
        """Return the most recent digest date, optionally not after `on_or_before`."""
        async with self._lock:
            return await self._latest_digest_date(on_or_before)

    async def _latest_digest_date(self, on_or_before: dt.date | None = None) -> dt.date | None:
        if on_or_before is None:
            row = await _one(self._db, "SELECT max(date) FROM digests")
        else:
            row = await _one(
                self._db,
                "SELECT max(date) FROM digests WHERE date <= ?",
                (on_or_before.isoformat(),),
            )
        return dt.date.fromisoformat(row[0]) if row and row[0] else None

    async def paper_by_id(self, arxiv_id: str) -> Paper | None:
        """Return the paper with `arxiv_id` (no version suffix) as in its latest digest."""
        async with self._lock:
            row = await _one(
                self._db,
                "SELECT t.paper_json, p.number FROM papers p JOIN paper_texts t ON t.id = p.text_id"
                " WHERE p.arxiv_id = ?",
                (arxiv_id,),
            )
        return _paper_from_json(row[0], row[1]) if row else None

    async def appearances(self, arxiv_id: str) -> list[Appearance]:
        """Return every digest listing of `arxiv_id`, newest first."""
        async with self._lock:
            rows = await _all(
                self._db,
                "SELECT d.date, a.number, d.source, d.title FROM appearances a"
                " JOIN digests d ON d.id = a.digest_id WHERE a.arxiv_id = ?"
                " ORDER BY d.date DESC, d.id",
                (arxiv_id,),
            )
        return [
            Appearance(arxiv_id, dt.date.fromisoformat(date), number, source, title)
            for date, number, source, title in rows
        ]

    async def paper_count(self) -> int:
        """Return the number of distinct papers in the archive."""
        async with self._lock:
            row = await _one(self._db, "SELECT count(*) FROM papers")
        return int(row[0])

    # Search

    async def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Return up to `limit` papers matching `query`, best first.

        Papers whose arXiv id appears in the query come first, then papers whose title
        contains every term, then the rest by bm25. When no paper contains every term,
        papers containing any term are returned.
        """
        async with self._lock:
            return await self._search(query, limit)

    async def _search(self, query: str, limit: int) -> list[SearchHit]:
        scored: dict[str, tuple[str, float]] = {}
        for arxiv_id in search.find_arxiv_ids(query):
            row = await _one(self._db, "SELECT title FROM papers WHERE arxiv_id = ?", (arxiv_id,))
            if row is not None:
                scored[arxiv_id] = (row[0], _EXACT_ID_SCORE)

        terms = search.query_terms(query)
        for any_term in (False, True):
            if len(scored) >= limit:
                break
            for arxiv_id, title, score in await self._match(terms, any_term, limit):
                scored.setdefault(arxiv_id, (title, score))
            if len(scored) > 0:
                break

        best = sorted(scored.items(), key=lambda item: -item[1][1])[:limit]
        latest = await self._latest_appearances([arxiv_id for arxiv_id, _ in best])
        return [
            SearchHit(arxiv_id, title, *latest[arxiv_id], score=score)
            for arxiv_id, (title, score) in best
            if arxiv_id in latest
        ]

    async def _match(
        self, terms: list[search.Term], any_term: bool, limit: int
    ) -> list[tuple[str, str, float]]:
        expression = search.match_expression(terms, any_term=any_term)
        if expression is None:
            return []
        title_expression = f"title : ({expression})"
        weights = ", ".join(str(weight) for weight in _BM25_WEIGHTS)
        rows = await _all(
            self._db,
            f"SELECT p.arxiv_id, p.title, -bm25(paper_search, {weights})"  # noqa: S608
            f" + (paper_search.rowid IN (SELECT rowid FROM paper_search WHERE paper_search"
            f" MATCH ?)) * {_TITLE_BONUS} AS score"
            " FROM paper_search JOIN papers p ON p.id = paper_search.rowid"
            " WHERE paper_search MATCH ? ORDER BY score DESC LIMIT ?",
            (title_expression, expression, limit),
        )
        return [(arxiv_id, title, float(score)) for arxiv_id, title, score in rows]

    async def _latest_appearances(self, arxiv_ids: list[str]) -> dict[str, tuple[dt.date, int]]:
        if not arxiv_ids:
            return {}
        placeholders = ", ".join("?" for _ in arxiv_ids)
        rows = await _all(
            self._db,
            "SELECT a.arxiv_id, d.date, a.number FROM appearances a"  # noqa: S608
            f" JOIN digests d ON d.id = a.digest_id WHERE a.arxiv_id IN ({placeholders})"
            # On a date with two series, the series saved first wins, as in `digest_for`, so
            # `/paper DATE N` with the hit's date and number opens the same paper.
            " ORDER BY d.date DESC, d.id, a.number",
            tuple(arxiv_ids),
        )
        latest: dict[str, tuple[dt.date, int]] = {}
        for arxiv_id, date, number in rows:
            latest.setdefault(arxiv_id, (dt.date.fromisoformat(date), number))
        return latest

    async def suggest(self, prefix: str, limit: int = 25) -> list[Suggestion]:
        """Return autocomplete choices for `prefix`: ids starting with it, then title matches.

        An empty prefix returns the papers of the latest digest.
        """
        async with self._lock:
            return await self._suggest(prefix, limit)

    async def _suggest(self, prefix: str, limit: int) -> list[Suggestion]:
        if not prefix.strip():
            return await self._latest_digest_suggestions(limit)

        suggestions: dict[str, str] = {}
        cleaned = prefix.strip()
        rows = await _all(
            self._db,
            "SELECT arxiv_id, title FROM papers WHERE arxiv_id >= ? AND arxiv_id < ?"
            " ORDER BY arxiv_id DESC LIMIT ?",
            (cleaned, cleaned + "\U0010ffff", limit),
        )
        suggestions.update(rows)

        expression = search.title_prefix_expression(prefix)
        if expression is not None and len(suggestions) < limit:
            rows = await _all(
                self._db,
                "SELECT p.arxiv_id, p.title FROM paper_search JOIN papers p"
                " ON p.id = paper_search.rowid WHERE paper_search MATCH ?"
                " ORDER BY p.last_date DESC, p.arxiv_id LIMIT ?",
                (f"title : ({expression})", limit),
            )
            for arxiv_id, title in rows:
                suggestions.setdefault(arxiv_id, title)
        return [Suggestion(arxiv_id, title) for arxiv_id, title in suggestions.items()][:limit]

    async def _latest_digest_suggestions(self, limit: int) -> list[Suggestion]:
        date = await self._latest_digest_date()
        digest = await self._digest_for(date) if date else None
        papers = digest.papers if digest else ()
        return [Suggestion(paper.arxiv_id, paper.title) for paper in papers[:limit]]

    # arXiv cache and key-value state

    async def cached_arxiv(self, arxiv_id: str) -> CachedMetadata | None:
        """Return the cached arXiv metadata of `arxiv_id`, or None."""
        async with self._lock:
            row = await _one(
                self._db,
                "SELECT metadata_json, fetched_at FROM arxiv_cache WHERE arxiv_id = ?",
                (arxiv_id,),
            )
        if row is None:
            return None
        return CachedMetadata(arxiv_id, json.loads(row[0]), dt.datetime.fromisoformat(row[1]))

    async def cache_arxiv(
        self, arxiv_id: str, metadata: dict[str, Any], fetched_at: dt.datetime
    ) -> None:
        """Store (or replace) the arXiv metadata of `arxiv_id`."""
        async with self._lock:
            await self._db.execute(
                "INSERT OR REPLACE INTO arxiv_cache (arxiv_id, metadata_json, fetched_at)"
                " VALUES (?, ?, ?)",
                (arxiv_id, json.dumps(metadata, ensure_ascii=False), fetched_at.isoformat()),
            )

    async def get_value(self, key: str) -> str | None:
        """Return the stored value of `key`, or None."""
        async with self._lock:
            row = await _one(self._db, "SELECT value FROM kv WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_value(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any earlier value."""
        async with self._lock:
            await self._db.execute(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value)
            )


class SqliteLedger:
    """The delivery ledger (`bot.ledger.Ledger`) in the store's `deliveries` table.

    `lock` is the store's lock, so a record never joins a digest save's transaction.
    """

    def __init__(self, connection: aiosqlite.Connection, lock: asyncio.Lock | None = None) -> None:
        self._db = connection
        self._lock = lock or asyncio.Lock()

    async def get(self, channel: str, digest_date: dt.date, paper: int) -> DeliveryRecord | None:
        """Return the record of one (channel, date, paper), or None when nothing was tried."""
        async with self._lock:
            row = await _one(
                self._db,
                f"SELECT {_LEDGER_COLUMNS} FROM deliveries"  # noqa: S608
                " WHERE channel = ? AND digest_date = ? AND paper = ?",
                (channel, digest_date.isoformat(), paper),
            )
        return _record(row) if row else None

    async def put(self, record: DeliveryRecord) -> None:
        """Insert or replace the record with the same (channel, date, paper) key."""
        async with self._lock:
            await self._db.execute(
                f"INSERT OR REPLACE INTO deliveries ({_LEDGER_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.channel,
                    record.digest_date.isoformat(),
                    record.paper,
                    record.status.value,
                    record.nonce,
                    record.message_id,
                    record.content_hash,
                    record.error,
                ),
            )

    async def records(self, channel: str, digest_date: dt.date) -> list[DeliveryRecord]:
        """Return the channel's records for one digest date, ordered by paper number."""
        async with self._lock:
            rows = await _all(
                self._db,
                f"SELECT {_LEDGER_COLUMNS} FROM deliveries"  # noqa: S608
                " WHERE channel = ? AND digest_date = ? ORDER BY paper",
                (channel, digest_date.isoformat()),
            )
        return [_record(row) for row in rows]


_LEDGER_COLUMNS = "channel, digest_date, paper, status, nonce, message_id, content_hash, error"


def _record(row: Sequence[Any]) -> DeliveryRecord:
    channel, date, paper, status, nonce, message_id, content_hash, error = row
    return DeliveryRecord(
        channel=channel,
        digest_date=dt.date.fromisoformat(date),
        paper=int(paper),
        status=DeliveryStatus(status),
        nonce=nonce,
        message_id=message_id,
        content_hash=content_hash,
        error=error,
    )


# Connection setup and migrations


async def _configure(connection: aiosqlite.Connection) -> None:
    await connection.execute("PRAGMA journal_mode = WAL")
    await connection.execute("PRAGMA foreign_keys = ON")
    await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # In WAL mode, NORMAL keeps every commit when the bot crashes. A power loss can roll
    # back the last commits, so a ledger record written just before it may be lost.
    await connection.execute("PRAGMA synchronous = NORMAL")


async def schema_version(connection: aiosqlite.Connection) -> int:
    """Return the schema version (`PRAGMA user_version`) of an open database."""
    row = await _one(connection, "PRAGMA user_version")
    return int(row[0])


async def migrate(connection: aiosqlite.Connection, target: int = LATEST_VERSION) -> int:
    """Apply the migration scripts after the database's version up to `target`.

    Each script runs in its own transaction together with its version bump, so a failed
    migration leaves the database at the previous version. Foreign keys are off while
    scripts run, so a script can rebuild a table that others reference, and each script
    must leave no violation (`PRAGMA foreign_key_check`). After a script that frees much
    space (`VACUUM_AFTER`), VACUUM rewrites the file. Returns the new version.

    Raises:
        RuntimeError: the database is newer than this code, or a script left rows that
            violate a foreign key (that script is rolled back).
    """
    current = await schema_version(connection)
    if current > LATEST_VERSION:
        raise RuntimeError(
            f"database schema version {current} is newer than this bot's {LATEST_VERSION};"
            " upgrade paperbot or restore an older database"
        )
    if current >= target:
        return current

    foreign_keys = (await _one(connection, "PRAGMA foreign_keys") or (0,))[0]
    # SQLite ignores this pragma inside a transaction, so it is set before each BEGIN.
    await connection.execute("PRAGMA foreign_keys = OFF")
    try:
        for version in range(current + 1, target + 1):
            await _run_migration(connection, version)
    finally:
        await connection.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")

    # A new database (version 0) has nothing to compact.
    if current > 0 and any(current < version <= target for version in VACUUM_AFTER):
        _log.info("compacting the database file after migrating to version %d", target)
        await connection.execute("VACUUM")
    return target


async def _run_migration(connection: aiosqlite.Connection, version: int) -> None:
    # executescript commits any open transaction first, so BEGIN here starts fresh.
    await connection.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}")
    try:
        violations = await connection.execute_fetchall("PRAGMA foreign_key_check")
        if violations:
            raise RuntimeError(
                f"migration to schema version {version} left {len(violations)} rows that"
                f" violate a foreign key, first {tuple(violations[0])}; the database is"
                f" unchanged at version {version - 1}"
            )
        await connection.execute(f"PRAGMA user_version = {version}")
        await connection.execute("COMMIT")
    except BaseException:
        await connection.execute("ROLLBACK")
        raise
    _log.info("migrated database schema to version %d", version)


async def _one(
    connection: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> Sequence[Any] | None:
    async with connection.execute(sql, tuple(params)) as cursor:
        return await cursor.fetchone()


async def _all(
    connection: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> list[Sequence[Any]]:
    async with connection.execute(sql, tuple(params)) as cursor:
        return list(await cursor.fetchall())


# Paper (de)serialisation. JSON keeps the model's field names so rows stay readable, and
# compact separators match what SQLite's JSON functions write in migration 4.


def _text_json(paper: Paper) -> str:
    """Return the stored text of `paper`: every field except its number in the digest."""
    data = {
        "title": paper.title,
        "arxiv_id": paper.arxiv_id,
        "arxiv_version": paper.arxiv_version,
        "links": [[link.kind.value, link.url] for link in paper.links],
        "sections": [
            {
                "heading": section.heading,
                "markdown": section.markdown,
                "bullets": [[bullet.label, bullet.markdown] for bullet in section.bullets],
            }
            for section in paper.sections
        ],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _paper_from_json(text: str, number: int) -> Paper:
    data = json.loads(text)
    return Paper(
        number=number,
        title=data["title"],
        arxiv_id=data["arxiv_id"],
        arxiv_version=data["arxiv_version"],
        links=tuple(Link(LinkKind(kind), url) for kind, url in data["links"]),
        sections=tuple(
            Section(
                heading=section["heading"],
                markdown=section["markdown"],
                bullets=tuple(Bullet(label, markdown) for label, markdown in section["bullets"]),
            )
            for section in data["sections"]
        ),
    )


def _search_columns(paper: Paper) -> tuple[str, str, str]:
    """Return the (arxiv_id, title, body) values that `paper_search` indexes for `paper`."""
    # NOTE: a change to `bot.search.index_text` needs a migration that rebuilds
    # paper_search, because a contentless 'delete' must repeat the indexed values exactly.
    body = "\n".join(f"{section.heading}\n{section.markdown}" for section in paper.sections)
    return (
        search.index_text(paper.arxiv_id),
        search.index_text(paper.title),
        search.index_text(body),
    )


@dataclass
class _StoredPaper:
    """A paper row read during a save, with every stored text of that paper."""

    row_id: int
    last_date: str
    text_id: int
    # Text JSON → paper_texts row id.
    texts: dict[str, int]

    def current_paper(self) -> Paper:
        """Return the paper from its row's current text, with number 0 (not stored there)."""
        text = next(text for text, text_id in self.texts.items() if text_id == self.text_id)
        return _paper_from_json(text, 0)


class _TextIds:
    """Text row ids for the papers of one save: stored texts are reused, new ones numbered."""

    def __init__(self, next_id: int) -> None:
        self._next_id = next_id
        self._ids: dict[tuple[str, str], int] = {}
        # (id, arxiv_id, paper_json) rows to insert into paper_texts.
        self.new_rows: list[tuple[int, str, str]] = []

    def add_known(self, arxiv_id: str, texts: dict[str, int]) -> None:
        self._ids.update({(arxiv_id, text): text_id for text, text_id in texts.items()})

    def id_for(self, paper: Paper) -> int:
        key = (paper.arxiv_id, _text_json(paper))
        text_id = self._ids.get(key)
        if text_id is None:
            text_id = self._ids[key] = self._next_id
            self.new_rows.append((text_id, *key))
            self._next_id += 1
        return text_id
