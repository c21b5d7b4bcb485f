"""Tests of the SQLite store: migrations, digests and papers, ledger, caches, FTS escaping."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path

import aiosqlite
import pytest

import bot.store
from bot.digest.model import Bullet, DateSource, Digest, Link, LinkKind, Paper, Section
from bot.ledger import HEADER_PAPER, DeliveryRecord, DeliveryStatus, Ledger
from bot.store import SaveOutcome, SqliteLedger, Store, migrate, schema_version
from bot.store_migrations import LATEST_VERSION, MIGRATIONS
from tests.fakes.clock import FakeClock

DAY_1 = dt.date(2025, 9, 22)
DAY_2 = dt.date(2025, 9, 23)


def make_paper(number: int, arxiv_id: str, title: str, text: str = "") -> Paper:
    return Paper(
        number=number,
        title=title,
        arxiv_id=arxiv_id,
        arxiv_version=None,
        links=(
            Link(LinkKind.ABS, f"https://arxiv.org/abs/{arxiv_id}"),
            Link(LinkKind.ALPHAXIV, f"https://www.alphaxiv.org/ko/overview/{arxiv_id}"),
        ),
        sections=(
            Section(
                "Introduction",
                f"- Goal: {text}",
                (Bullet("Goal", text),),
            ),
            Section("Method", text),
        ),
    )


def make_digest(date: dt.date, *papers: Paper, source: str = "daily.md") -> Digest:
    return Digest(
        date=date,
        title=f"Daily Papers — {date}",
        source=source,
        date_source=DateSource.FRONT_MATTER,
        papers=papers,
        url=f"https://example.test/{date}",
    )


def schema_1_json(paper: Paper) -> str:
    """Return `paper` as schema 1 stored it: one JSON object with its number."""
    return json.dumps(
        {
            "number": paper.number,
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
        },
        ensure_ascii=False,
    )


@pytest.fixture
async def store():
    opened = await Store.open(":memory:", clock=FakeClock())
    yield opened
    await opened.close()


async def test_open_file_database_uses_wal(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state.sqlite3")
    try:
        assert await store.journal_mode() == "wal"
    finally:
        await store.close()


async def test_open_sets_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state.sqlite3")
    try:
        async with store._db.execute("PRAGMA foreign_keys") as cursor:
            assert (await cursor.fetchone())[0] == 1
        async with store._db.execute("PRAGMA busy_timeout") as cursor:
            assert (await cursor.fetchone())[0] > 0
    finally:
        await store.close()


async def test_old_schema_migrates_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    # A database written by the first release: schema 1 only, one digest and one paper.
    async with aiosqlite.connect(path, isolation_level=None) as old:
        assert await migrate(old, target=1) == 1
        await old.execute(
            "INSERT INTO digests (id, date, source, title, date_source, content_hash, loaded_at)"
            " VALUES (1, '2025-09-23', 'daily.md', 'Daily', 'front_matter', 'h1',"
            " '2025-09-23T00:00:00+00:00')"
        )
        paper = make_paper(1, "2509.17765", "Qwen3-Omni Technical Report", "멀티모달 추론을")
        await old.execute(
            "INSERT INTO papers (arxiv_id, title, paper_json, last_date)"
            " VALUES (?, ?, ?, '2025-09-23')",
            (paper.arxiv_id, paper.title, schema_1_json(paper)),
        )
        await old.execute(
            "INSERT INTO appearances (digest_id, number, arxiv_id, paper_json) VALUES (1, 1, ?, ?)",
            (paper.arxiv_id, schema_1_json(paper)),
        )

    store = await Store.open(path)
    try:
        assert await schema_version(store._db) == LATEST_VERSION
        digest = await store.digest_for(DAY_2)
        assert digest is not None
        assert digest.papers == (paper,)
        # Schema 4 rebuilt the search index empty; open indexes every paper again.
        hits = await store.search("추론")
        assert [hit.arxiv_id for hit in hits] == ["2509.17765"]
        await store.set_value("k", "v")
        assert await store.get_value("k") == "v"
    finally:
        await store.close()


async def write_schema_3_archive(path: Path, *digests: Digest) -> None:
    """Write `digests` the way schema 3 stored them: JSON per row, search rows filled."""
    async with aiosqlite.connect(path, isolation_level=None) as old:
        assert await migrate(old, target=3) == 3
        for digest_id, digest in enumerate(digests, start=1):
            await old.execute(
                "INSERT INTO digests (id, date, source, title, date_source, url, content_hash,"
                " loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, '2025-09-23T00:00:00+00:00')",
                (
                    digest_id,
                    digest.date.isoformat(),
                    digest.source,
                    digest.title,
                    digest.date_source.value,
                    digest.url,
                    str(digest_id),
                ),
            )
            for paper in digest.papers:
                await old.execute(
                    "INSERT INTO papers (arxiv_id, title, paper_json, last_date)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (arxiv_id) DO UPDATE SET"
                    " title = excluded.title, paper_json = excluded.paper_json,"
                    " last_date = excluded.last_date",
                    (paper.arxiv_id, paper.title, schema_1_json(paper), digest.date.isoformat()),
                )
                await old.execute(
                    "INSERT INTO appearances (digest_id, number, arxiv_id, paper_json)"
                    " VALUES (?, ?, ?, ?)",
                    (digest_id, paper.number, paper.arxiv_id, schema_1_json(paper)),
                )
        await old.execute(
            "INSERT INTO paper_search (rowid, arxiv_id, title, body)"
            " SELECT id, arxiv_id, title, paper_json FROM papers"
        )


async def count_rows(store: Store, table: str) -> int:
    rows = await store._db.execute_fetchall(f"SELECT count(*) FROM {table}")  # noqa: S608
    return int(next(iter(rows))[0])


async def test_schema_3_migrates_to_shared_texts(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    repeated = make_paper(2, "2509.17765", "Qwen3-Omni", "같은 본문")
    edited_old = make_paper(1, "2509.18091", "OnePiece", "처음 요약")
    edited_new = make_paper(3, "2509.18091", "OnePiece", "고친 요약")
    day_1 = make_digest(DAY_1, edited_old, repeated)
    day_2 = make_digest(DAY_2, dataclasses.replace(repeated, number=1), edited_new)
    await write_schema_3_archive(path, day_1, day_2)

    store = await Store.open(path)
    try:
        assert await schema_version(store._db) == LATEST_VERSION
        assert await store.digest_for(DAY_1) == day_1
        assert await store.digest_for(DAY_2) == day_2
        assert await store.paper_by_id("2509.18091") == edited_new
        # One text for the unchanged paper, two for the edited one.
        assert await count_rows(store, "paper_texts") == 3
        assert [hit.arxiv_id for hit in await store.search("고친")] == ["2509.18091"]
        assert await store.search("처음") == []

        # The migration compacted the file, so the dropped tables left no free pages.
        rows = await store._db.execute_fetchall("PRAGMA freelist_count")
        assert next(iter(rows))[0] == 0

        # JSON written by the migration matches the store's own, so it is reused.
        day_3 = make_digest(dt.date(2025, 9, 24), dataclasses.replace(repeated, number=5))
        await store.save_digest(day_3, "3")
        assert await count_rows(store, "paper_texts") == 3
    finally:
        await store.close()


async def test_migration_violating_foreign_key_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite3"
    store = await Store.open(path)
    await store.close()
    orphan = "INSERT INTO appearances (digest_id, number, arxiv_id, text_id) VALUES (9, 1, 'x', 9);"
    monkeypatch.setattr(bot.store, "MIGRATIONS", (*MIGRATIONS, orphan))

    async with aiosqlite.connect(path, isolation_level=None) as connection:
        with pytest.raises(RuntimeError, match="violate a foreign key"):
            await migrate(connection, target=LATEST_VERSION + 1)
        assert await schema_version(connection) == LATEST_VERSION
        rows = await connection.execute_fetchall("SELECT count(*) FROM appearances")
        assert next(iter(rows))[0] == 0
        rows = await connection.execute_fetchall("PRAGMA foreign_keys")
        assert next(iter(rows))[0] == 0


async def test_newer_schema_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    async with aiosqlite.connect(path) as future:
        await future.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
        await future.commit()
    with pytest.raises(RuntimeError, match="newer than"):
        await Store.open(path)


async def test_save_digest_is_idempotent(store: Store) -> None:
    digest = make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni"))

    assert await store.save_digest(digest, "hash-a") is SaveOutcome.NEW
    assert await store.save_digest(digest, "hash-a") is SaveOutcome.UNCHANGED
    assert await store.paper_count() == 1
    assert len(await store.appearances("2509.17765")) == 1


async def test_changed_digest_replaces_appearances(store: Store) -> None:
    first = make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni"))
    second = make_digest(
        DAY_2,
        make_paper(1, "2509.18091", "OnePiece"),
        make_paper(2, "2509.17765", "Qwen3-Omni Technical Report"),
    )
    await store.save_digest(first, "hash-a")

    assert await store.save_digest(second, "hash-b") is SaveOutcome.CHANGED
    assert await store.digest_for(DAY_2) == second
    appearances = await store.appearances("2509.17765")
    assert [(a.date, a.number) for a in appearances] == [(DAY_2, 2)]
    paper = await store.paper_by_id("2509.17765")
    assert paper is not None
    assert paper.title == "Qwen3-Omni Technical Report"


async def test_repeated_paper_has_several_appearances(store: Store) -> None:
    await store.save_digest(
        make_digest(DAY_1, make_paper(4, "2509.17765", "Qwen3-Omni", "old text")), "h1"
    )
    await store.save_digest(
        make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni", "new text")), "h2"
    )

    assert await store.paper_count() == 1
    appearances = await store.appearances("2509.17765")
    assert [(a.date, a.number) for a in appearances] == [(DAY_2, 1), (DAY_1, 4)]
    paper = await store.paper_by_id("2509.17765")
    assert paper is not None
    assert paper.sections[1].markdown == "new text"


async def test_unchanged_paper_text_stored_once(store: Store) -> None:
    paper = make_paper(4, "2509.17765", "Qwen3-Omni", "같은 본문")
    day_1 = make_digest(DAY_1, paper)
    day_2 = make_digest(DAY_2, dataclasses.replace(paper, number=1))
    await store.save_digest(day_1, "h1")
    await store.save_digest(day_2, "h2")

    assert await count_rows(store, "paper_texts") == 1
    assert await store.digest_for(DAY_1) == day_1
    assert await store.digest_for(DAY_2) == day_2
    stored = await store.paper_by_id("2509.17765")
    assert stored is not None
    assert stored.number == 1


async def test_paper_listed_twice_in_one_digest(store: Store) -> None:
    digest = make_digest(
        DAY_2,
        make_paper(1, "2509.17765", "Qwen3-Omni", "first listing"),
        make_paper(2, "2509.17765", "Qwen3-Omni", "second listing"),
    )
    await store.save_digest(digest, "h")

    assert await store.digest_for(DAY_2) == digest
    paper = await store.paper_by_id("2509.17765")
    assert paper is not None
    assert (paper.number, paper.sections[1].markdown) == (2, "second listing")
    assert [hit.arxiv_id for hit in await store.search("second")] == ["2509.17765"]
    assert await store.search("first") == []


async def test_changed_digest_deletes_unused_texts(store: Store) -> None:
    day_1_paper = make_paper(1, "2509.00001", "Kept", "day one text")
    await store.save_digest(make_digest(DAY_1, day_1_paper), "h1")
    await store.save_digest(
        make_digest(DAY_2, day_1_paper, make_paper(2, "2509.00002", "Draft", "draft text")), "h2"
    )

    fixed = make_digest(
        DAY_2,
        make_paper(1, "2509.00001", "Kept", "day two text"),
        make_paper(2, "2509.00002", "Draft", "fixed text"),
    )
    assert await store.save_digest(fixed, "h3") is SaveOutcome.CHANGED

    # Day 1 still shows the first text of 2509.00001; the draft text is gone.
    assert await count_rows(store, "paper_texts") == 3
    assert await store.digest_for(DAY_1) == make_digest(DAY_1, day_1_paper)
    assert await store.digest_for(DAY_2) == fixed


async def test_search_follows_changed_paper_text(store: Store) -> None:
    await store.save_digest(
        make_digest(DAY_1, make_paper(1, "2509.17765", "Qwen3-Omni", "tokenizer alpha")), "1"
    )
    await store.save_digest(
        make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni Report", "tokenizer beta")),
        "2",
    )

    assert [hit.arxiv_id for hit in await store.search("beta")] == ["2509.17765"]
    assert [hit.arxiv_id for hit in await store.search("report")] == ["2509.17765"]
    assert await store.search("alpha") == []
    assert [hit.arxiv_id for hit in await store.search("tokenizer")] == ["2509.17765"]
    # FTS5 checks its own structure; a wrong 'delete' of a contentless row breaks it.
    await store._db.execute("INSERT INTO paper_search (paper_search) VALUES ('integrity-check')")


async def test_older_digest_saved_later_keeps_newer_paper_text(store: Store) -> None:
    await store.save_digest(
        make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni", "new text")), "h2"
    )
    await store.save_digest(
        make_digest(DAY_1, make_paper(4, "2509.17765", "Qwen3-Omni", "old text")), "h1"
    )

    paper = await store.paper_by_id("2509.17765")
    assert paper is not None
    assert paper.sections[1].markdown == "new text"
    day_1 = await store.digest_for(DAY_1)
    assert day_1 is not None
    assert day_1.papers[0].sections[1].markdown == "old text"
    assert [hit.arxiv_id for hit in await store.search("new")] == ["2509.17765"]
    assert await store.search("old") == []


async def test_digest_round_trip_keeps_every_field(store: Store) -> None:
    paper = dataclasses.replace(
        make_paper(3, "hep-th/9901001", 'Old-style <id> & "quotes"', "본문"),
        arxiv_version=2,
        links=(Link(LinkKind.PDF, "https://arxiv.org/pdf/hep-th/9901001v2"),),
    )
    digest = dataclasses.replace(
        make_digest(DAY_2, paper), date_source=DateSource.FILENAME, url=None
    )
    await store.save_digest(digest, "h")

    assert await store.digest_for(DAY_2) == digest
    assert await store.digest_for(DAY_1) is None


async def test_read_during_changed_save_sees_whole_digest(store: Store) -> None:
    papers = [make_paper(n, f"2509.{10000 + n}", f"Title {n}", "old") for n in range(1, 11)]
    changed = [make_paper(n, f"2509.{10000 + n}", f"Title {n} v2", "new") for n in range(1, 11)]
    await store.save_digest(make_digest(DAY_2, *papers), "h1")

    save = asyncio.create_task(store.save_digest(make_digest(DAY_2, *changed), "h2"))
    counts = []
    while not save.done():
        digest = await store.digest_for(DAY_2)
        assert digest is not None
        counts.append(len(digest.papers))
        hits = await store.search("Title 7")
        counts.append(len(hits))
    assert await save is SaveOutcome.CHANGED

    assert counts
    assert set(counts[0::2]) == {10}
    assert 0 not in counts[1::2]


async def test_concurrent_saves_both_commit(store: Store) -> None:
    day_1 = make_digest(DAY_1, make_paper(1, "2509.00001", "A"), make_paper(2, "2509.00002", "B"))
    day_2 = make_digest(DAY_2, make_paper(1, "2509.00003", "C"))

    outcomes = await asyncio.gather(store.save_digest(day_1, "1"), store.save_digest(day_2, "2"))

    assert outcomes == [SaveOutcome.NEW, SaveOutcome.NEW]
    assert await store.digest_for(DAY_1) == day_1
    assert await store.digest_for(DAY_2) == day_2


async def test_two_series_on_one_date(store: Store) -> None:
    daily = make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni"), source="daily.md")
    arxiv = make_digest(DAY_2, make_paper(1, "2509.18091", "OnePiece"), source="Arxiv.md")
    await store.save_digest(daily, "a")
    await store.save_digest(arxiv, "b")

    assert await store.digest_for(DAY_2) == daily
    assert await store.digest_for(DAY_2, source="Arxiv.md") == arxiv


async def test_latest_digest_date(store: Store) -> None:
    assert await store.latest_digest_date() is None
    await store.save_digest(make_digest(DAY_1, make_paper(1, "2509.00001", "A")), "1")
    await store.save_digest(make_digest(DAY_2, make_paper(1, "2509.00002", "B")), "2")

    assert await store.latest_digest_date() == DAY_2
    assert await store.latest_digest_date(on_or_before=DAY_1) == DAY_1
    assert await store.latest_digest_date(on_or_before=dt.date(2025, 1, 1)) is None


async def test_empty_digest_saves(store: Store) -> None:
    assert await store.save_digest(make_digest(DAY_2), "empty") is SaveOutcome.NEW
    digest = await store.digest_for(DAY_2)
    assert digest is not None
    assert digest.papers == ()


async def test_ledger_round_trip(store: Store) -> None:
    ledger: Ledger = store.ledger()
    assert isinstance(ledger, SqliteLedger)
    header = DeliveryRecord("papers", DAY_2, HEADER_PAPER, DeliveryStatus.SENT, "n0", "m0")
    second = DeliveryRecord("papers", DAY_2, 2, DeliveryStatus.IN_FLIGHT, "n2")
    first = DeliveryRecord(
        "papers", DAY_2, 1, DeliveryStatus.FAILED, "n1", None, "hash", "HTTP 500 from Slack"
    )
    other_day = DeliveryRecord("papers", DAY_1, 1, DeliveryStatus.SENT, "x", "m")
    for record in (second, header, first, other_day):
        await ledger.put(record)

    assert await ledger.get("papers", DAY_2, 1) == first
    assert await ledger.get("papers", DAY_2, 7) is None
    assert await ledger.get("other", DAY_2, 1) is None
    assert await ledger.records("papers", DAY_2) == [header, first, second]

    sent = dataclasses.replace(second, status=DeliveryStatus.SENT, message_id="m2")
    await ledger.put(sent)
    assert await ledger.get("papers", DAY_2, 2) == sent
    assert len(await ledger.records("papers", DAY_2)) == 3


async def test_ledger_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    record = DeliveryRecord("papers", DAY_2, 1, DeliveryStatus.SENT, "n1", "m1")
    store = await Store.open(path)
    await store.ledger().put(record)
    await store.close()

    reopened = await Store.open(path)
    try:
        assert await reopened.ledger().get("papers", DAY_2, 1) == record
    finally:
        await reopened.close()


async def test_arxiv_cache_round_trip(store: Store) -> None:
    fetched_at = dt.datetime(2025, 9, 23, 1, 2, 3, tzinfo=dt.UTC)
    assert await store.cached_arxiv("2509.17765") is None

    await store.cache_arxiv("2509.17765", {"title": "Qwen3-Omni", "authors": ["A"]}, fetched_at)
    cached = await store.cached_arxiv("2509.17765")

    assert cached is not None
    assert cached.metadata == {"title": "Qwen3-Omni", "authors": ["A"]}
    assert cached.fetched_at == fetched_at


async def test_kv_replaces_value(store: Store) -> None:
    assert await store.get_value("discord.commands.hash") is None
    await store.set_value("discord.commands.hash", "abc")
    await store.set_value("discord.commands.hash", "def")
    assert await store.get_value("discord.commands.hash") == "def"


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unterminated',
        "*",
        "quote*",
        "NEAR(",
        "NEAR(a b, 2)",
        "'",
        "it's",
        "--",
        "a -- b",
        "AND",
        "OR NOT",
        "title: x",
        "{title}: x",
        "^x",
        "( )",
        "a + b",
        "%_\\",
        "'); DROP TABLE papers; --",
    ],
)
async def test_search_treats_syntax_as_text(store: Store, query: str) -> None:
    await store.save_digest(
        make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni", "AND it's NEAR title")),
        "h",
    )

    hits = await store.search(query)

    assert isinstance(hits, list)
    assert await store.paper_count() == 1
    assert isinstance(await store.suggest(query), list)


async def test_search_matches_operator_words_as_text(store: Store) -> None:
    await store.save_digest(
        make_digest(
            DAY_2,
            make_paper(1, "2509.00001", "Alpha", "we study NEAR duplicates and NOT gates"),
            make_paper(2, "2509.00002", "Beta", "unrelated"),
        ),
        "h",
    )

    assert [hit.arxiv_id for hit in await store.search("NEAR(")] == ["2509.00001"]
    assert [hit.arxiv_id for hit in await store.search("NOT")] == ["2509.00001"]
    assert await store.search('"zzz"') == []


async def test_search_hit_has_latest_appearance(store: Store) -> None:
    await store.save_digest(make_digest(DAY_1, make_paper(5, "2509.17765", "Qwen3-Omni")), "1")
    await store.save_digest(make_digest(DAY_2, make_paper(2, "2509.17765", "Qwen3-Omni")), "2")

    hits = await store.search("qwen3")

    assert len(hits) == 1
    assert (hits[0].date, hits[0].number, hits[0].title) == (DAY_2, 2, "Qwen3-Omni")


async def test_search_hit_number_matches_date_lookup(store: Store) -> None:
    # Two series on one date list the same paper under different numbers.
    daily = make_digest(
        DAY_2,
        make_paper(1, "2509.18091", "OnePiece"),
        make_paper(2, "2509.17765", "Qwen3-Omni"),
        source="daily.md",
    )
    arxiv = make_digest(
        DAY_2,
        make_paper(1, "2509.00001", "Other"),
        make_paper(5, "2509.17765", "Qwen3-Omni"),
        source="Arxiv.md",
    )
    await store.save_digest(daily, "a")
    await store.save_digest(arxiv, "b")

    hits = await store.search("qwen3")
    listed = await store.digest_for(DAY_2)

    assert len(hits) == 1
    assert (hits[0].date, hits[0].number) == (DAY_2, 2)
    assert listed is not None
    assert [p.arxiv_id for p in listed.papers if p.number == hits[0].number] == ["2509.17765"]


async def test_search_empty_query_returns_nothing(store: Store) -> None:
    await store.save_digest(make_digest(DAY_2, make_paper(1, "2509.17765", "Qwen3-Omni")), "h")
    assert await store.search("") == []
    assert await store.search("  !!! ") == []


async def test_suggest_by_id_prefix_and_title(store: Store) -> None:
    await store.save_digest(
        make_digest(
            DAY_2,
            make_paper(1, "2509.17765", "Qwen3-Omni Technical Report"),
            make_paper(2, "2509.18091", "OnePiece: Context Engineering"),
            make_paper(3, "2508.00001", "Technical Notes"),
        ),
        "h",
    )

    by_id = await store.suggest("2509.1")
    assert {s.arxiv_id for s in by_id} == {"2509.17765", "2509.18091"}
    by_title = await store.suggest("techn")
    assert {s.arxiv_id for s in by_title} == {"2509.17765", "2508.00001"}
    assert [s.arxiv_id for s in await store.suggest("")] == [
        "2509.17765",
        "2509.18091",
        "2508.00001",
    ]
    assert len(await store.suggest("", limit=2)) == 2
