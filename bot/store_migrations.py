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
)

LATEST_VERSION = len(MIGRATIONS)
