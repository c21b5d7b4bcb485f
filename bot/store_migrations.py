"""Schema of the SQLite store as an ordered list of migration scripts.

Script N (counting from 1) moves a database from `PRAGMA user_version` N-1 to N. Append
new scripts at the end and never edit one that has shipped, because databases in the
field have already run it.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: digests, papers, appearances and the delivery ledger.
    """
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        date TEXT NOT NULL,              -- ISO date of the digest
        source TEXT NOT NULL,            -- series key: the file name or URL it came from
        title TEXT NOT NULL,
        date_source TEXT NOT NULL,
        url TEXT,
        content_hash TEXT NOT NULL,
        loaded_at TEXT NOT NULL,         -- ISO UTC timestamp
        UNIQUE (date, source)
    );
    CREATE INDEX digests_by_date ON digests (date);

    -- One row per arXiv id, holding the paper as it appeared in its latest digest.
    CREATE TABLE papers (
        id INTEGER PRIMARY KEY,
        arxiv_id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        paper_json TEXT NOT NULL,
        last_date TEXT NOT NULL
    );

    -- A paper repeated on several days has one appearance per digest; `paper_json` keeps
    -- the text of that day so a digest is rebuilt exactly as it was posted.
    CREATE TABLE appearances (
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        arxiv_id TEXT NOT NULL REFERENCES papers (arxiv_id),
        paper_json TEXT NOT NULL,
        PRIMARY KEY (digest_id, number)
    );
    CREATE INDEX appearances_by_paper ON appearances (arxiv_id);

    CREATE TABLE deliveries (
        channel TEXT NOT NULL,
        digest_date TEXT NOT NULL,
        paper INTEGER NOT NULL,          -- 0 is the channel's header message
        status TEXT NOT NULL,
        nonce TEXT NOT NULL,
        message_id TEXT,
        content_hash TEXT,
        error TEXT,
        PRIMARY KEY (channel, digest_date, paper)
    );
    """,
    # 2: arXiv lookup cache and small key-value state.
    """
    CREATE TABLE arxiv_cache (
        arxiv_id TEXT PRIMARY KEY,
        metadata_json TEXT NOT NULL,
        fetched_at TEXT NOT NULL         -- ISO UTC timestamp
    );
    CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: full-text search. Columns hold tokens from `bot.search.index_text`, so the store
    # fills rows for papers that existed before this version after migrating.
    """
    CREATE VIRTUAL TABLE paper_search USING fts5 (
        arxiv_id, title, body,
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '2 3'
    );
    """,
    # 4: smaller archive. A paper's text is stored once per distinct version in
    # `paper_texts`, and papers and appearances point at it, instead of a JSON copy in
    # every row. The search index becomes contentless (no copy of the indexed tokens)
    # and drops its prefix index. The store refills the new index after migrating.
    # Rebuilding tables needs foreign keys off, which `bot.store.migrate` arranges.
    """
    CREATE TABLE paper_texts (
        id INTEGER PRIMARY KEY,
        arxiv_id TEXT NOT NULL,
        -- The paper as JSON without its number, which belongs to each appearance.
        paper_json TEXT NOT NULL
    );
    INSERT INTO paper_texts (arxiv_id, paper_json)
        SELECT arxiv_id, json_remove(paper_json, '$.number') FROM papers
        UNION
        SELECT arxiv_id, json_remove(paper_json, '$.number') FROM appearances;
    CREATE INDEX paper_texts_by_paper ON paper_texts (arxiv_id);

    CREATE TABLE new_papers (
        id INTEGER PRIMARY KEY,          -- also the rowid of the paper's search row
        arxiv_id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        number INTEGER NOT NULL,         -- position in the digest that set `text_id`
        text_id INTEGER NOT NULL REFERENCES paper_texts (id),
        last_date TEXT NOT NULL
    );
    INSERT INTO new_papers (id, arxiv_id, title, number, text_id, last_date)
        SELECT p.id, p.arxiv_id, p.title, json_extract(p.paper_json, '$.number'), t.id,
            p.last_date
        FROM papers p JOIN paper_texts t ON t.arxiv_id = p.arxiv_id
            AND t.paper_json = json_remove(p.paper_json, '$.number');

    CREATE TABLE new_appearances (
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        arxiv_id TEXT NOT NULL REFERENCES papers (arxiv_id),
        text_id INTEGER NOT NULL REFERENCES paper_texts (id),
        PRIMARY KEY (digest_id, number)
    );
    INSERT INTO new_appearances (digest_id, number, arxiv_id, text_id)
        SELECT a.digest_id, a.number, a.arxiv_id, t.id
        FROM appearances a JOIN paper_texts t ON t.arxiv_id = a.arxiv_id
            AND t.paper_json = json_remove(a.paper_json, '$.number');

    DROP TABLE appearances;
    DROP TABLE papers;
    ALTER TABLE new_papers RENAME TO papers;
    ALTER TABLE new_appearances RENAME TO appearances;
    CREATE INDEX appearances_by_paper ON appearances (arxiv_id);

    DROP TABLE paper_search;
    CREATE VIRTUAL TABLE paper_search USING fts5 (
        arxiv_id, title, body,
        content = '',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    -- Merge index segments in groups of 8 instead of 4: a backfill of 1,000 digests took
    -- about 10% less time, and search latency at 13k papers did not change (measured with
    -- bench/bench_search.py on the 2-core development machine).
    INSERT INTO paper_search (paper_search, rank) VALUES ('automerge', 8);
    """,
)

LATEST_VERSION = len(MIGRATIONS)

# Versions whose script drops so much data that the file is worth compacting afterwards:
# migration 4 frees the duplicate JSON and the old index, about 60% of the 20k-paper
# archive of bench/bench_search.py.
VACUUM_AFTER = frozenset({4})
