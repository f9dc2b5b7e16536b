"""`dbutils.fs` of a Databricks workspace reached over its REST API, as a cluster's `dbutils.fs` behaves.

databricks-sdk's own remote `dbutils.fs` differs from a cluster's: directory names lack the trailing
`/`, and listing checks the path's status first (two requests). `WorkspaceFs` keeps the cluster's
contract — `ls` names directories `name/`, a missing path raises `FileNotFoundException` — with one DBFS
API request per call, so dtflw's DBFS storage checks a table with one `list` request per folder.
`/Volumes/…` paths go through the Files API the same way.
"""

from __future__ import annotations

import base64
import io
import posixpath
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.files import FilesAPI

PUT_LIMIT = 1024 * 1024  # the DBFS `put` API takes at most 1 MB inline


class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - dbutils' name


class WorkspaceFs:
    """`ls/head/put/mv/cp/rm/mkdirs` on `dbfs:/` through the workspace's DBFS API (databricks-sdk)."""

    def __init__(self, client: WorkspaceClient) -> None:
        from databricks.sdk.service.files import DbfsAPI, FilesAPI

        self._client = client
        # databricks-sdk leaves the service classes' __init__ unannotated
        self._api = DbfsAPI(client.api_client)  # type: ignore[no-untyped-call]
        self._volumes = VolumesFs(FilesAPI(client.api_client))  # type: ignore[no-untyped-call]

    def ls(self, path: str) -> list[FileInfo]:
        from databricks.sdk.errors import NotFound

        if _is_volume(path):
            return self._volumes.ls(path)
        try:
            listed = self._api.list(_dbfs(path))
        except NotFound:
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {path} does not exist.") from None
        infos = []
        for f in listed:
            assert f.path is not None  # the DBFS API names every file it lists
            slash = "/" if f.is_dir else ""
            infos.append(
                FileInfo(
                    "dbfs:" + f.path + slash,
                    posixpath.basename(f.path) + slash,
                    f.file_size or 0,
                    f.modification_time or 0,
                )
            )
        return infos

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803 - dbutils' name
        if _is_volume(path):
            return self._volumes.read(path)[:maxBytes].decode("utf-8", errors="replace")
        read = self._api.read(_dbfs(path), offset=0, length=maxBytes)
        return base64.b64decode(read.data or "").decode("utf-8", errors="replace")

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        data = contents.encode("utf-8")
        if _is_volume(path):
            self._volumes.write(path, data, overwrite)
        elif len(data) <= PUT_LIMIT:
            self._api.put(_dbfs(path), contents=base64.b64encode(data).decode(), overwrite=overwrite)
        else:
            self._client.dbutils.fs.put(path, contents, overwrite)
        return True

    def mv(self, source: str, dest: str, recurse: bool = False) -> bool:
        if _is_volume(source) or _is_volume(dest):
            return self._client.dbutils.fs.mv(source, dest, recurse)
        self._api.move(_dbfs(source), _dbfs(dest))
        return True

    def cp(self, source: str, dest: str, recurse: bool = False) -> bool:
        return self._client.dbutils.fs.cp(source, dest, recurse)

    def rm(self, path: str, recurse: bool = False) -> bool:
        if _is_volume(path):
            return self._client.dbutils.fs.rm(path, recurse)
        self._api.delete(_dbfs(path), recursive=recurse)
        return True

    def mkdirs(self, path: str) -> bool:
        if _is_volume(path):
            self._volumes.mkdirs(path)
        else:
            self._api.mkdirs(_dbfs(path))
        return True


class VolumesFs:
    """`/Volumes/…` through the Files API: one request to list a directory (per page) or read a file."""

    def __init__(self, files_api: FilesAPI) -> None:
        self._api = files_api

    def ls(self, path: str) -> list[FileInfo]:
        from databricks.sdk.errors import NotFound

        volume_path = _volume(path)
        try:
            entries = list(self._api.list_directory_contents(volume_path))
        except NotFound:
            try:  # a file lists as itself, as on a cluster
                metadata = self._api.get_metadata(volume_path)
            except NotFound:
                raise FileNotFoundError(f"java.io.FileNotFoundException: File {path} does not exist.") from None
            size, modified = metadata.content_length or 0, _http_date_ms(metadata.last_modified)
            return [FileInfo(volume_path, posixpath.basename(volume_path), size, modified)]
        infos = []
        for e in entries:
            assert e.path is not None and e.name is not None  # the Files API names every entry it lists
            slash = "/" if e.is_directory else ""
            infos.append(FileInfo(e.path.rstrip("/") + slash, e.name + slash, e.file_size or 0, e.last_modified or 0))
        return infos

    def read(self, path: str) -> bytes:
        contents = self._api.download(_volume(path)).contents
        assert contents is not None  # a download answers with the file's bytes
        return contents.read()

    def write(self, path: str, data: bytes, overwrite: bool) -> None:
        self._api.upload(_volume(path), io.BytesIO(data), overwrite=overwrite)

    def mkdirs(self, path: str) -> None:
        self._api.create_directory(_volume(path))


def _is_volume(path: str) -> bool:
    return _volume(path).startswith("/Volumes/")


def _volume(path: str) -> str:
    return path[len("dbfs:") :] if path.startswith("dbfs:/Volumes/") else path


def _dbfs(path: str) -> str:
    """The DBFS API's path of `dbfs:/a` or `/a`."""
    return "/" + path[len("dbfs:") :].lstrip("/") if path.startswith("dbfs:") else path


def _http_date_ms(value: str | None) -> int:
    """Milliseconds since the epoch of an HTTP date (a file's `Last-Modified`); 0 if none or malformed.
    A file's time is part of its table's fingerprint: a file written again is told from the one before."""
    from email.utils import parsedate_to_datetime

    try:
        return int(parsedate_to_datetime(value).timestamp() * 1000) if value else 0
    except (TypeError, ValueError, OverflowError):
        return 0
