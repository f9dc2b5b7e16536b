"""Workspace paths: how Databricks resolves a notebook path, and where a notebook's outputs go."""

from __future__ import annotations

import posixpath


def normalize_workspace_path(path: str, cwd: str) -> str:
    """Join `path` to `cwd` like Databricks does, collapsing `.`/`..` and a `/Workspace` prefix."""
    joined = path if path.startswith("/") else posixpath.join(cwd or "/", path)
    clean = posixpath.normpath(joined)
    if clean == "/Workspace" or clean.startswith("/Workspace/"):
        clean = clean[len("/Workspace") :] or "/"
    return clean


def project_relative_path(workspace_path: str) -> str:
    """The path below the user's (or repo's, or Shared) folder: `/Users/u/proj/nb` → `proj/nb`."""
    parts = [p for p in workspace_path.split("/") if p]
    if parts and parts[0] in ("Users", "Repos"):
        return "/".join(parts[2:])
    if parts and parts[0] == "Shared":
        return "/".join(parts[1:])
    return "/".join(parts)
