"""Unity Catalog SQL statements Sail does not parse, answered from the local Unity Catalog.

For the sessions of an engine with a local Unity Catalog, `spark.sql` takes these statements itself
(each as Databricks documents it; anything else goes to Sail unchanged):
`CREATE CATALOG [IF NOT EXISTS] c [COMMENT '…']`, `DROP CATALOG [IF EXISTS] c [CASCADE|RESTRICT]`,
`SHOW CATALOGS`, `CREATE VOLUME [IF NOT EXISTS] [c.][s.]v [COMMENT '…']`, `DROP VOLUME [IF EXISTS] …`,
`SHOW VOLUMES [IN|FROM [c.]s]` and `DESCRIBE HISTORY t [LIMIT n]` (from the table's Delta log);
`CREATE OR REPLACE TABLE t …` (refused by Sail's unity catalogs) drops `t` and creates it (a new table id).
A catalog created here is reached by three-part names at once, and by `USE CATALOG` from the next
engine start (Sail's catalogs are fixed when its server starts).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dtflw.errors import UnityCatalogError
from dtflw.local.unity_store import UnityError, UnityStore, local_path

if TYPE_CHECKING:
    from dtflw.local.unity_catalog import LocalUnityCatalog

_SESSIONS: weakref.WeakKeyDictionary[Any, LocalUnityCatalog] = weakref.WeakKeyDictionary()  # session → its catalog
_ORIGINAL: list[Callable[..., Any]] = []  # pyspark's `SparkSession.sql`, once patched
SqlArgs = dict[str, Any] | list[Any] | None  # `spark.sql`'s `args`: values of named or positional markers
HistoryRow = tuple[int, datetime.datetime, object, dict[str, str], object, object]
_NAME = r"(`[^`]+`|[\w-]+)"
_QUALIFIED = rf"({_NAME}(?:\.{_NAME}){{0,2}})"
_COMMENT = r"(?:\s+COMMENT\s+'((?:[^'\\]|\\.)*)')?"
_REPLACE = re.compile(rf"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\s+{_QUALIFIED}", re.I)
_LOCATION_AS = re.compile(r"^(\s+USING\s+delta)?\s+LOCATION\s+('(?:[^'\\]|\\.)*')\s+AS\s+(.*)$", re.I | re.S)
_STATEMENTS = [
    (
        re.compile(rf"^CREATE\s+CATALOG\s+(IF\s+NOT\s+EXISTS\s+)?{_NAME}{_COMMENT}\s*;?\s*$", re.I | re.S),
        "create_catalog",
    ),
    (
        re.compile(rf"^DROP\s+CATALOG\s+(IF\s+EXISTS\s+)?{_NAME}(\s+CASCADE|\s+RESTRICT)?\s*;?\s*$", re.I | re.S),
        "drop_catalog",
    ),
    (re.compile(r"^SHOW\s+CATALOGS\s*;?\s*$", re.I), "show_catalogs"),
    (
        re.compile(rf"^CREATE\s+VOLUME\s+(IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}{_COMMENT}\s*;?\s*$", re.I | re.S),
        "create_volume",
    ),
    (re.compile(rf"^DROP\s+VOLUME\s+(IF\s+EXISTS\s+)?{_QUALIFIED}\s*;?\s*$", re.I | re.S), "drop_volume"),
    (re.compile(rf"^SHOW\s+VOLUMES(?:\s+(?:IN|FROM)\s+{_QUALIFIED})?\s*;?\s*$", re.I | re.S), "show_volumes"),
    (re.compile(rf"^DESCRIBE\s+HISTORY\s+{_QUALIFIED}(?:\s+LIMIT\s+(\d+))?\s*;?\s*$", re.I | re.S), "history"),
]


def install(session: Any, catalog: LocalUnityCatalog) -> None:
    """Make `session.sql` answer the statements above from the local Unity Catalog `catalog`."""
    if not _ORIGINAL:
        from pyspark.sql.connect.session import SparkSession

        _ORIGINAL.append(SparkSession.sql)
        SparkSession.sql = _sql  # type: ignore[method-assign]  # pyspark's method, patched
    _SESSIONS[session] = catalog


def _sql(self: Any, sqlQuery: object, args: SqlArgs = None, **kwargs: Any) -> Any:  # noqa: N803 - pyspark's signature
    catalog = _SESSIONS.get(self)
    if catalog is not None and isinstance(sqlQuery, str):
        for pattern, kind in _STATEMENTS:
            found = pattern.match(sqlQuery.strip())
            if found:
                return _answer(self, catalog.store, kind, found)
        replace = _REPLACE.match(sqlQuery)
        if replace:
            return _create_or_replace(self, replace.group(1), sqlQuery[replace.end() :], args, **kwargs)
    return _ORIGINAL[0](self, sqlQuery, args, **kwargs)


def _create_or_replace(session: Any, name: str, rest: str, args: SqlArgs, **kwargs: Any) -> Any:
    """Sail's unity catalogs refuse REPLACE: drop the table, then create it (a new table id). An external
    table's query result overwrites its location first (a new Delta version there), as on Databricks."""
    sql = _ORIGINAL[0]
    external = _LOCATION_AS.match(rest)
    if external is None:
        sql(session, f"DROP TABLE IF EXISTS {name}")
        return sql(session, f"CREATE TABLE {name}{rest}", args, **kwargs)
    location = external.group(2)[1:-1].replace("\\'", "'")
    writer = sql(session, external.group(3), args, **kwargs).write.format("delta").mode("overwrite")
    writer.option("overwriteSchema", "true").save(location)
    sql(session, f"DROP TABLE IF EXISTS {name}")
    return sql(session, f"CREATE TABLE {name}{external.group(1)} LOCATION {external.group(2)}")


def _answer(session: Any, store: UnityStore, kind: str, found: re.Match[str]) -> Any:
    try:
        return _HANDLERS[kind](session, store, found)
    except UnityError as e:
        raise UnityCatalogError(f"{found.group(0).strip()}: {e.message}") from None


def _unquote(name: str) -> str:
    return name.strip("`").lower()


def _qualified(session: Any, name: str | None, parts: int) -> list[str]:
    """`name`'s parts, completed in front with the session's current catalog (and schema)."""
    given = [_unquote(p) for p in re.findall(r"`[^`]+`|[^.]+", name)] if name else []
    current = [session.catalog.currentCatalog(), session.catalog.currentDatabase()]
    return (current[: parts - len(given)] + given) if len(given) < parts else given


def _create_catalog(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    if found.group(1) and _exists(store.get_catalog, _unquote(found.group(2))):
        return _done(session)
    store.create_catalog(_unquote(found.group(2)), found.group(3))
    return _done(session)


def _drop_catalog(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    name = _unquote(found.group(2))
    if found.group(1) and not _exists(store.get_catalog, name):
        return _done(session)
    store.delete_catalog(name, force=(found.group(3) or "").strip().upper() == "CASCADE")
    return _done(session)


def _show_catalogs(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    return session.createDataFrame([(c["name"],) for c in store.list_catalogs()], "catalog string")


def _create_volume(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    catalog, schema, name = _qualified(session, found.group(2), 3)
    if found.group(1) and _exists(store.get_volume, f"{catalog}.{schema}.{name}"):
        return _done(session)
    store.create_volume(catalog, schema, name, found.group(5))
    return _done(session)


def _drop_volume(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    full_name = ".".join(_qualified(session, found.group(2), 3))
    if found.group(1) and not _exists(store.get_volume, full_name):
        return _done(session)
    store.delete_volume(full_name)
    return _done(session)


def _show_volumes(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    catalog, schema = _qualified(session, found.group(1), 2)
    rows = [(schema, v["name"]) for v in store.list_volumes(catalog, schema)]
    return session.createDataFrame(rows, "database string, volume_name string")


def _history(session: Any, store: UnityStore, found: re.Match[str]) -> Any:
    info = store.get_table(".".join(_qualified(session, found.group(1), 3)))
    rows = sorted(_commits(local_path(info["storage_location"])), key=lambda r: -r[0])
    limit = int(found.group(4)) if found.group(4) else None
    return session.createDataFrame(
        rows[:limit],
        "version bigint, timestamp timestamp, operation string, operationParameters map<string,string>, "
        "isBlindAppend boolean, engineInfo string",
    )


def _commits(location: str) -> list[HistoryRow]:
    """One row per commit of the Delta log at `location`: its version and `commitInfo`."""
    log = os.path.join(location, "_delta_log")
    rows: list[HistoryRow] = []
    for name in sorted(n for n in os.listdir(log) if n.endswith(".json") and n[:20].isdigit()):
        with open(os.path.join(log, name)) as f:
            info: dict[str, Any] = next(
                (a["commitInfo"] for a in map(json.loads, filter(str.strip, f)) if "commitInfo" in a), {}
            )
        when = datetime.datetime.fromtimestamp(info.get("timestamp", 0) / 1000, tz=datetime.timezone.utc)
        parameters = {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in (info.get("operationParameters") or {}).items()
        }
        rows.append(
            (int(name[:20]), when, info.get("operation"), parameters, info.get("isBlindAppend"), info.get("engineInfo"))
        )
    return rows


def _exists(get: Callable[[str], object], name: str) -> bool:
    try:
        get(name)
        return True
    except UnityError as e:
        if e.status == 404:
            return False
        raise


def _done(session: Any) -> Any:
    return session.createDataFrame([], "result string")


_HANDLERS: dict[str, Callable[[Any, UnityStore, re.Match[str]], Any]] = {  # (session, store, statement) → frame
    "create_catalog": _create_catalog,
    "drop_catalog": _drop_catalog,
    "show_catalogs": _show_catalogs,
    "create_volume": _create_volume,
    "drop_volume": _drop_volume,
    "show_volumes": _show_volumes,
    "history": _history,
}
