"""Options of the embedded default's SQLite database, shared by the settings and bench/.

- IMMEDIATE transactions: a writer takes the write lock when its transaction starts, so two
  writers queue up (busy timeout) instead of failing half-way with "database is locked".
- Write-ahead log: readers (pages, the in-process Celery tasks) go on while one request writes,
  and a commit appends the changed pages to the log once instead of copying every page to a
  rollback journal first. synchronous=FULL keeps every committed transaction on disk.
- secure_delete: deleted rows are overwritten in the file, so what retention destroys (data keys,
  ciphertexts) does not linger in free pages. Some SQLite builds have it on by default (Debian's),
  others (upstream, python.org) off.
"""

SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA secure_delete=ON",
}
