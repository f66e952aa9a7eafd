"""The store on PostgreSQL: the few methods of a sqlite3 connection that the store uses, over psycopg 3.

The council's assist service runs as several processes on several machines, so its store can be
a PostgreSQL database (`store.url`); a kiosk keeps its SQLite file. The store's SQL is written once,
in what both engines share (`ON CONFLICT`, `RETURNING`, `?` placeholders, ISO 8601 UTC times as
text, which sort as times do), and `Connection` makes a psycopg connection answer as the store's
code expects of sqlite3's:

* `?` becomes psycopg's `%s` (and a `%` in the SQL `%%`);
* `BEGIN IMMEDIATE`, SQLite's "this transaction will write, take the lock now", becomes `BEGIN`
  plus a transaction-scoped advisory lock that every writing transaction of this database takes:
  the same one-writer-at-a-time rule the store's logic was written for, across every process and
  machine. The hot paths built to run side by side (claims with `FOR UPDATE SKIP LOCKED`, a
  resident's texts under a lock per number) begin with `begin_shared` instead;
* psycopg's errors become the DB-API classes the store already catches, sqlite3's (the standard
  library's implementation of PEP 249's hierarchy), so `except sqlite3.IntegrityError` means the
  same thing on both engines, and `sync.store.errors` turns them into what a person can act on.

Connections come from a psycopg_pool pool: one is held while the process uses the store (the
store's object is used from one thread at a time, as with SQLite), and a broken one (the server
restarted, a failover) is handed back and replaced at the next statement outside a transaction.
psycopg is imported only when a store is on PostgreSQL: a kiosk never loads it.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

#: The advisory lock every writing transaction takes (`BEGIN IMMEDIATE`); any constant would do, as
#: a database holds one council's store. 0x61737369 is "assi".
WRITE_LOCK = 0x61737369
#: How long a statement may wait for a lock before failing as busy (SQLite's busy timeout).
LOCK_TIMEOUT_MS = 5000

_PARTS = re.compile(r"('(?:[^']|'')*')")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@functools.lru_cache(maxsize=1024)
def translate(sql: str, named: bool = False) -> str:
    """The store's SQL as psycopg takes it: `?` as `%s` (`:name` as `%(name)s` when the parameters
    are named), `%` as `%%`, `INSERT OR IGNORE` as `INSERT ... ON CONFLICT DO NOTHING`. Quoted
    literals keep their question marks and colons."""
    parts = _PARTS.split(sql)
    for index, part in enumerate(parts):
        part = part.replace("%", "%%")
        if not index % 2:
            part = _NAMED.sub(r"%(\1)s", part) if named else part.replace("?", "%s")
        parts[index] = part
    out = "".join(parts)
    if _OR_IGNORE.match(out):
        out = _OR_IGNORE.sub("INSERT ", out, count=1)
        returning = _RETURNING.search(out)
        out = (f"{out[:returning.start()]}ON CONFLICT DO NOTHING {out[returning.start():]}" if returning
               else f"{out.rstrip().rstrip(';')} ON CONFLICT DO NOTHING")
    return out


def _as_dbapi(error: Exception) -> sqlite3.Error:
    """psycopg's error as the matching DB-API class of sqlite3's, carrying PostgreSQL's SQLSTATE."""
    import psycopg

    kind: type[sqlite3.Error]
    if isinstance(error, psycopg.errors.IntegrityError):
        kind = sqlite3.IntegrityError
    elif isinstance(error, psycopg.errors.UndefinedTable):  # sqlite3 calls "no such table" operational
        kind = sqlite3.OperationalError
    elif isinstance(error, psycopg.errors.ProgrammingError):
        kind = sqlite3.ProgrammingError
    elif isinstance(error, psycopg.errors.DataError):
        kind = sqlite3.DataError
    elif isinstance(error, psycopg.Error):
        kind = sqlite3.OperationalError
    else:
        kind = sqlite3.DatabaseError
    translated = kind(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
    # A connection lost mid-statement carries no SQLSTATE of its own: it is class 08 all the same.
    lost = isinstance(error, psycopg.OperationalError) and not getattr(error, "sqlstate", None)
    translated.sqlstate = "08006" if lost else getattr(error, "sqlstate", None)  # type: ignore[attr-defined]
    return translated


class Cursor:
    """A psycopg cursor answering as sqlite3's does for what the store asks of one."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Any:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description


class Connection:
    """A pooled psycopg connection with sqlite3's `execute`, `executemany` and `in_transaction`."""

    engine = "postgresql"

    def __init__(self, pool: psycopg_pool.ConnectionPool[Any]) -> None:
        self.pool = pool
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or (self._conn.closed and not self.in_transaction):
            if self._conn is not None:
                self.pool.putconn(self._conn)
            self._conn = self.pool.getconn()
        return self._conn

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        conn = self._conn
        return conn is not None and not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        command = sql.strip().upper()
        if command == "BEGIN IMMEDIATE":  # one round trip: without parameters psycopg sends both statements at once
            return self._begin(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        if command == "BEGIN":
            return self.begin_shared()
        if isinstance(parameters, Mapping):
            named = dict(parameters)
            return self._run(lambda conn: conn.execute(translate(sql, True), named))
        return self._run(lambda conn: conn.execute(translate(sql), tuple(parameters)))

    def begin_shared(self) -> Cursor:
        """A transaction without the store-wide write lock, for the paths that lock only their own rows."""
        return self._begin("BEGIN")

    def _begin(self, sql: str) -> Cursor:
        """Begin a transaction; on a connection the server dropped since its last use (a restart,
        a failover, an idle timeout) once more on a new one: nothing has been done yet, so nothing
        can be done twice, and the resident's save goes through instead of failing."""
        try:
            return self._run(lambda conn: conn.execute(sql))
        except sqlite3.OperationalError:
            if self._conn is not None:  # the connection is sound: the error is the answer
                raise
            return self._run(lambda conn: conn.execute(sql))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        def many(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
            cursor = conn.cursor()
            cursor.executemany(translate(sql), [tuple(row) for row in rows])
            return cursor
        return self._run(many)

    def _run(self, action: Any) -> Cursor:
        import psycopg

        conn = self._connection()
        try:
            return Cursor(action(conn))
        except psycopg.Error as error:
            if conn.closed or conn.broken:  # the server went away: the next statement takes another
                self._release()
            raise _as_dbapi(error) from error

    def _release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self.pool.putconn(conn)

    def close(self) -> None:
        self._release()
        self.pool.close()


def connect(url: str, *, max_size: int = 4) -> Connection:
    """A pool on `url` (opened now, so a wrong address, password or database fails here, as a
    missing SQLite file's directory would) and its connection for this process."""
    import psycopg
    import psycopg_pool

    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        conn.execute("SET TIME ZONE 'UTC'")

    try:  # one direct attempt first: it fails at once, saying why (a wrong password, no such database)
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as reason:
        raise _as_dbapi(reason) from reason
    pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        url, min_size=1, max_size=max_size, kwargs={"autocommit": True}, configure=configure, open=False,
        check=psycopg_pool.ConnectionPool.check_connection, name="assist-store")
    try:
        pool.open(wait=True, timeout=10)
    except psycopg_pool.PoolTimeout as error:
        pool.close()
        raise sqlite3.OperationalError("could not connect to the PostgreSQL store in 10 s") from error
    connection = Connection(pool)
    connection._connection()
    return connection
