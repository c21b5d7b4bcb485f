"""Benchmark the archive: backfill, `/paper` answers, autocomplete, and two search indexes.

Run: `python bench/bench_search.py [--shared PATH]`. It builds archives of 1k, 5k and 20k
papers from the seed-blog posts, with ids, titles and sentence order varied so entries
differ, and prints latencies measured in this process. It also compares the bigram index
that `bot.search` uses with an FTS5 `trigram` index plus a LIKE fallback for terms shorter
than three characters, on the relevance table of tests/test_search_relevance.py.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bot.commands import PaperService  # noqa: E402
from bot.digest.errors import NotADigestError  # noqa: E402
from bot.digest.model import Digest, Paper, Section  # noqa: E402
from bot.digest.parser import load_digest  # noqa: E402
from bot.search import normalize  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tests.test_search_relevance import CASES  # noqa: E402

SIZES = (1_000, 5_000, 20_000)
BACKFILL_DIGESTS = 1_000
QUERIES_PER_KIND = 60
SENTENCE_END = re.compile(r"(?<=[.!?다])\s+")
KEYWORD_QUERIES = ("추론", "멀티모달 RAG", "diffusion", "KV 캐시", "환각", "reasoning agents")


def seed_digests(shared: Path) -> list[Digest]:
    digests = []
    for path in sorted((shared / "digests" / "seed-blog").glob("*.md")):
        try:
            digest = load_digest(path)
        except NotADigestError:
            continue
        if digest.papers:
            digests.append(digest)
    return digests


def vary_paper(paper: Paper, serial: int, rng: random.Random) -> Paper:
    """Return a copy of `paper` with a new id, a varied title and shuffled sentences."""
    words = paper.title.split()
    rng.shuffle(words)
    sections = []
    for section in paper.sections:
        sentences = SENTENCE_END.split(section.markdown)
        rng.shuffle(sentences)
        sections.append(Section(section.heading, " ".join(sentences)))
    month = 1 + serial // 90_000
    return dataclasses.replace(
        paper,
        arxiv_id=f"{26:02d}{month:02d}.{serial % 90_000 + 10_000:05d}",
        title=" ".join(words) + f" {serial}",
        sections=tuple(sections),
        links=(),
    )


def make_digests(
    seeds: list[Digest], paper_count: int, rng: random.Random, max_digests: int | None = None
) -> list[Digest]:
    digests: list[Digest] = []
    serial = 0
    day = dt.date(2020, 1, 1)
    while serial < paper_count and (max_digests is None or len(digests) < max_digests):
        seed = seeds[len(digests) % len(seeds)]
        papers = []
        for number, paper in enumerate(seed.papers[: paper_count - serial], start=1):
            papers.append(dataclasses.replace(vary_paper(paper, serial, rng), number=number))
            serial += 1
        digests.append(dataclasses.replace(seed, date=day, papers=tuple(papers)))
        day += dt.timedelta(days=1)
    return digests


async def build_store(path: Path, digests: list[Digest]) -> tuple[Store, float]:
    store = await Store.open(path)
    started = time.perf_counter()
    for index, digest in enumerate(digests):
        await store.save_digest(digest, f"hash-{index}")
    return store, time.perf_counter() - started


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def time_calls(calls: list) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class NoLookup:
    async def lookup(self, arxiv_id: str):
        raise AssertionError(f"benchmark queries only archive ids, not {arxiv_id}")


async def bench_size(seeds: list[Digest], paper_count: int, folder: Path) -> None:
    rng = random.Random(paper_count)
    digests = make_digests(seeds, paper_count, rng)
    store, seconds = await build_store(folder / f"archive-{paper_count}.sqlite3", digests)
    last = digests[-1]
    clock = FakeClock(dt.datetime.combine(last.date, dt.time(12), tzinfo=dt.UTC))
    service = PaperService(store, NoLookup(), clock)

    ids = [p.arxiv_id for d in rng.sample(digests, min(len(digests), 30)) for p in d.papers]
    dates = [d.date.isoformat() for d in rng.sample(digests, min(len(digests), 30))]
    queries = (
        [""] * 10
        + ["3"] * 10
        + [rng.choice(ids) for _ in range(QUERIES_PER_KIND)]
        + [f"{rng.choice(dates)} 2" for _ in range(QUERIES_PER_KIND)]
        + [rng.choice(KEYWORD_QUERIES) for _ in range(QUERIES_PER_KIND)]
    )
    answers = await time_calls([lambda q=q: service.answer(q, "ko") for q in queries])
    prefixes = [q[:n] for q in ("qwen", "2601.1", "diffusion", "멀티모", "reason") for n in (1, 3)]
    suggests = await time_calls([lambda p=p: store.suggest(p) for p in prefixes * 10])

    size_mb = await store.size_bytes() / 1e6
    print(
        f"{paper_count:>6} papers {len(digests):>5} digests | save {seconds:6.2f} s |"
        f" answer p50 {statistics.median(answers):6.2f} ms p99 {percentile(answers, 0.99):6.2f}"
        f" ms | suggest p99 {percentile(suggests, 0.99):6.2f} ms | db {size_mb:6.1f} MB"
    )
    await store.close()


async def bench_backfill(seeds: list[Digest], folder: Path) -> None:
    digests = make_digests(seeds, 10**9, random.Random(7), max_digests=BACKFILL_DIGESTS)
    papers = sum(len(d.papers) for d in digests)
    store, seconds = await build_store(folder / "backfill.sqlite3", digests)
    await store.close()
    print(f"backfill of {len(digests)} digests ({papers} papers): {seconds:.2f} s")


# Alternative index: FTS5 trigram on the raw text, LIKE for terms of 1-2 characters.


class TrigramIndex:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS tri USING fts5"
            " (arxiv_id UNINDEXED, title, body, tokenize='trigram')"
        )

    def add(self, papers: list[Paper]) -> None:
        rows = [
            (p.arxiv_id, normalize(p.title), normalize(" ".join(s.markdown for s in p.sections)))
            for p in papers
        ]
        self.db.executemany("INSERT INTO tri (arxiv_id, title, body) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def search(self, query: str, limit: int) -> list[str]:
        terms = re.findall(r"[^\W_]+", normalize(query))
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [t for t in terms if len(t) < 3]
        where, params = [], []
        if long_terms:
            where.append("tri MATCH ?")
            params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
        for term in short_terms:
            where.append("(instr(title, ?) > 0 OR instr(body, ?) > 0)")
            params += [term, term]
        if not where:
            return []
        order = "bm25(tri, 0, 10, 1)" if long_terms else "rowid"
        sql = f"SELECT arxiv_id FROM tri WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"  # noqa: S608
        return [row[0] for row in self.db.execute(sql, (*params, limit))]


async def bigram_search(store: Store, query: str, limit: int) -> list[str]:
    return [hit.arxiv_id for hit in await store.search(query, limit=limit)]


def passes(found: list[str], case) -> bool:
    if case.expected - set(found):
        return False
    if case.exact and set(found) - case.expected:
        return False
    return case.first is None or (bool(found) and found[0] == case.first)


async def compare_indexes(seeds: list[Digest], folder: Path) -> None:
    store = await Store.open(folder / "seed.sqlite3")
    trigram = TrigramIndex(folder / "trigram.sqlite3")
    seen: dict[str, Paper] = {}
    for index, digest in enumerate(seeds):
        await store.save_digest(digest, str(index))
        seen.update({p.arxiv_id: p for p in digest.papers})
    trigram.add(list(seen.values()))

    bigram_pass = 0
    for c in CASES:
        bigram_pass += passes(await bigram_search(store, c.query, c.limit), c)
    trigram_pass = sum(passes(trigram.search(c.query, c.limit), c) for c in CASES)
    print(f"relevance table ({len(CASES)} queries): bigram {bigram_pass}, trigram {trigram_pass}")
    await store.close()

    big = await Store.open(folder / "archive-20000.sqlite3")
    big_trigram = TrigramIndex(folder / "trigram-20000.sqlite3")
    papers = [p for d in make_digests(seeds, 20_000, random.Random(20_000)) for p in d.papers]
    big_trigram.add(papers)
    queries = [c.query for c in CASES]
    bigram_ms = await time_calls([lambda q=q: big.search(q, limit=5) for q in queries])

    trigram_ms = []
    for query in queries:
        started = time.perf_counter()
        big_trigram.search(query, 5)
        trigram_ms.append((time.perf_counter() - started) * 1000)
    bigram_mb = await big.size_bytes() / 1e6
    trigram_mb = (folder / "trigram-20000.sqlite3").stat().st_size / 1e6
    print(
        f"20k papers, search p50/p99: bigram {statistics.median(bigram_ms):.2f}/"
        f"{percentile(bigram_ms, 0.99):.2f} ms, trigram {statistics.median(trigram_ms):.2f}/"
        f"{percentile(trigram_ms, 0.99):.2f} ms"
    )
    print(
        f"20k papers, size: bigram store (whole database) {bigram_mb:.1f} MB,"
        f" trigram index alone {trigram_mb:.1f} MB"
    )
    await big.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    args = parser.parse_args()
    seeds = seed_digests(args.shared)
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            await bench_size(seeds, size, Path(folder))
        await bench_backfill(seeds, Path(folder))
        await compare_indexes(seeds, Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
