"""`dbutils.fs` of a Databricks workspace reached over its REST API, as a cluster's `dbutils.fs` behaves.

databricks-sdk's own remote `dbutils.fs` differs from a cluster's: directory names lack the trailing
`/`, and listing checks the path's status first (two requests). `WorkspaceFs` keeps the cluster's
contract — `ls` names directories `name/`, a missing path raises `FileNotFoundException` — with one DBFS
API request per call, so dtflw's DBFS storage checks a table with one `list` request per folder.
"""

from __future__ import annotations

import base64
import posixpath
from typing import NamedTuple

PUT_LIMIT = 1024 * 1024  # the DBFS `put` API takes at most 1 MB inline


class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - dbutils' name


class WorkspaceFs:
    """`ls/head/put/mv/cp/rm/mkdirs` on `dbfs:/` through the workspace's DBFS API (databricks-sdk)."""

    def __init__(self, client):
        from databricks.sdk.service.files import DbfsAPI

        self._client = client
        self._api = DbfsAPI(client.api_client)

    def ls(self, path: str) -> list[FileInfo]:
        from databricks.sdk.errors import NotFound

        try:
            listed = self._api.list(_dbfs(path))
        except NotFound:
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {path} does not exist.") from None
        return [
            FileInfo(
                "dbfs:" + f.path + ("/" if f.is_dir else ""),
                posixpath.basename(f.path) + ("/" if f.is_dir else ""),
                f.file_size or 0,
                f.modification_time or 0,
            )
            for f in listed
        ]

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803 - dbutils' name
        read = self._api.read(_dbfs(path), offset=0, length=maxBytes)
        return base64.b64decode(read.data or "").decode("utf-8", errors="replace")

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        data = contents.encode("utf-8")
        if len(data) <= PUT_LIMIT:
            self._api.put(_dbfs(path), contents=base64.b64encode(data).decode(), overwrite=overwrite)
        else:
            self._client.dbutils.fs.put(path, contents, overwrite)
        return True

    def mv(self, source: str, dest: str, recurse: bool = False) -> bool:
        self._api.move(_dbfs(source), _dbfs(dest))
        return True

    def cp(self, source: str, dest: str, recurse: bool = False) -> bool:
        return self._client.dbutils.fs.cp(source, dest, recurse)

    def rm(self, path: str, recurse: bool = False) -> bool:
        self._api.delete(_dbfs(path), recursive=recurse)
        return True

    def mkdirs(self, path: str) -> bool:
        self._api.mkdirs(_dbfs(path))
        return True


def _dbfs(path: str) -> str:
    """The DBFS API's path of `dbfs:/a` or `/a`."""
    return "/" + path[len("dbfs:") :].lstrip("/") if path.startswith("dbfs:") else path
