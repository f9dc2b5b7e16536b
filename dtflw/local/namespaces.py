"""Where the Databricks namespaces of a local workspace live on this machine.

    dbfs:/x, /dbfs/x, file:/dbfs/x              → <dbfs root>/x
    /Volumes/c/s/v/x, dbfs:/Volumes/c/s/v/x     → <volumes root>/c/s/v/x
    /Workspace/Users/<user>/x (also /Repos/…)   → <workspace root>/x
    file:/x                                     → /x

Every other path (a plain local path, a relative one, `s3://…`, `abfss://…`) is not a namespace path
and stays as it is. This is the one place that knows the mapping: the notebook's Spark session, SQL,
`dbutils.fs`, `open()` and `%sh` all ask it.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Self

from dtflw.errors import NamespacePathError

DBFS_SCHEME = "dbfs:"
DBFS_FUSE = "/dbfs"
VOLUMES = "/Volumes"
WORKSPACE = "/Workspace"
_FILE_SCHEME = re.compile(r"^file:(//)?(?=/)")
_NAMESPACE_START = re.compile(r"^(?:dbfs:|file:/|/dbfs(?:/|$)|/Volumes(?:/|$)|/Workspace(?:/|$))")


def without_file_scheme(path: str) -> str:
    """`file:/x` and `file:///x` as the local path `/x`; any other path as it is."""
    return _FILE_SCHEME.sub("", path)


def default_volumes_root(dbfs_root: str) -> str:
    """The volumes root next to a DBFS root: `<dbfs root's parent>/volumes` (`.dtflw/dbfs` → `.dtflw/volumes`)."""
    return os.path.join(os.path.dirname(os.path.abspath(dbfs_root).rstrip(os.sep)), "volumes")


@dataclass(frozen=True)
class WorkspaceNamespaces:
    """The local folders behind `dbfs:/`, `/Volumes` and the user's `/Workspace` folder."""

    dbfs_root: str
    volumes_root: str
    workspace_root: str | None = None  # the folder mapped to /Workspace/Users/<user> and /Workspace/Repos/<user>
    user: str | None = None

    @classmethod
    def of(
        cls,
        dbfs_root: str,
        volumes_root: str | None = None,
        workspace_root: str | None = None,
        user: str | None = None,
    ) -> Self:
        """Namespaces with absolute roots; the volumes root defaults to `default_volumes_root(dbfs_root)`."""
        dbfs = os.path.abspath(dbfs_root)
        volumes = os.path.abspath(volumes_root) if volumes_root else default_volumes_root(dbfs)
        return cls(dbfs, volumes, os.path.abspath(workspace_root) if workspace_root else None, user)

    @staticmethod
    def names_namespace(path: object) -> bool:
        """True if `path` is written in one of the Databricks namespaces (whether or not it maps here)."""
        return isinstance(path, str) and bool(_NAMESPACE_START.match(path))

    def volume_folder(self, catalog: str, schema: str, volume: str) -> str:
        """The local folder of volume `catalog.schema.volume` (`/Volumes/<catalog>/<schema>/<volume>`)."""
        return os.path.join(self.volumes_root, catalog, schema, volume)

    def local_path(self, path: str) -> str | None:
        """The local path behind a namespace path; None for any other path (it stays as it is).

        A namespace path this workspace cannot map (`/Workspace/Shared/…`, one escaping its root with
        `..`) is a NamespacePathError, never a path Spark would take as relative."""
        if not self.names_namespace(path):
            return None
        if path.startswith(DBFS_SCHEME):
            rest = "/" + path[len(DBFS_SCHEME) :].lstrip("/")
            if _under(rest, VOLUMES):
                return self._inside(self.volumes_root, rest[len(VOLUMES) :], path)
            return self._inside(self.dbfs_root, rest, path)
        rest = without_file_scheme(path)
        if _under(rest, DBFS_FUSE):
            return self._inside(self.dbfs_root, rest[len(DBFS_FUSE) :], path)
        if _under(rest, VOLUMES):
            return self._inside(self.volumes_root, rest[len(VOLUMES) :], path)
        if _under(rest, WORKSPACE):
            return self._workspace_file(rest[len(WORKSPACE) :], path)
        return rest  # file:/x: the local /x

    def _workspace_file(self, rest: str, original: str) -> str:
        for prefix in (f"/Users/{self.user}", f"/Repos/{self.user}"):
            if self.workspace_root and self.user and _under(rest, prefix):
                return self._inside(self.workspace_root, rest[len(prefix) :], original)
        raise NamespacePathError(
            f"Path {original!r} is not emulated: locally only /Workspace/Users/{self.user or '<user>'}/… (and "
            f"/Workspace/Repos/{self.user or '<user>'}/…) map to the workspace root ({self.workspace_root}). "
            "Keep the files under the workspace root, or give the path on the DBFS or a volume."
        )

    @staticmethod
    def _inside(root: str, rest: str, original: str) -> str:
        relative = posixpath.normpath(rest.lstrip("/") or ".")
        if relative == ".." or relative.startswith("../"):
            raise NamespacePathError(f"Path {original!r} climbs out of its namespace with '..'; remove the '..'.")
        return root if relative == "." else os.path.join(root, relative) + ("/" if rest.endswith("/") else "")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
