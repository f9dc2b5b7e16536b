"""Errors a new user meets say what to do."""

from __future__ import annotations

import pytest

from dtflw.errors import NotebookFailedError


def test_a_missing_secret_says_where_secrets_come_from(workspace):
    workspace.write("nb.py", "dbutils.secrets.get('kv', 'api-token')")
    with pytest.raises(NotebookFailedError, match=r"\$DTFLW_SECRET_KV_API_TOKEN.*--secrets-file"):
        workspace.run("nb.py")
