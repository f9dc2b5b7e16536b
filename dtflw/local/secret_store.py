"""Where local `dbutils.secrets` values come from: a JSON file {scope: {key: value}}, checked at start."""

from __future__ import annotations

import json

from dtflw.errors import InvalidUserNameError, SecretsFileError

SECRETS_FILE_OPTION = "--secrets-file"


def read_secrets_file(path: str | None) -> dict[str, dict[str, str]]:
    """The scopes of a secrets file (values as strings, as `dbutils.secrets.get` returns them); {} without one.

    Raises `SecretsFileError` naming the file, and the line and column of a JSON error."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SecretsFileError(
            f"Secrets file {path!r} cannot be read ({e.strerror or e}); give {SECRETS_FILE_OPTION} an existing "
            'JSON file such as {"scope": {"key": "value"}}.'
        ) from None
    try:
        scopes = json.loads(text)
    except ValueError as e:
        where = f"line {e.lineno}, column {e.colno}" if isinstance(e, json.JSONDecodeError) else "its text"
        reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise SecretsFileError(
            f"Secrets file {path!r} is not valid JSON: {reason} at {where}. "
            'Write it as {"scope": {"key": "value"}}.'
        ) from None
    if not isinstance(scopes, dict) or not all(isinstance(keys, dict) for keys in scopes.values()):
        raise SecretsFileError(
            f'Secrets file {path!r} must hold an object of scopes, each an object of keys: {{"scope": {{"key": "value"}}}}.'
        )
    values: dict[str, dict[str, str]] = {}
    for scope, keys in scopes.items():
        for key, value in keys.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise SecretsFileError(
                    f"Secrets file {path!r}: secret '{key}' of scope '{scope}' is a {type(value).__name__}; "
                    "give a string (or a number)."
                )
            values.setdefault(scope, {})[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def check_user_name(user: str) -> str:
    """`user` if it names one folder under /Users (an e-mail address or a service principal's id)."""
    bad = (
        not user
        or user != user.strip()
        or user in (".", "..")
        or any(c in user for c in "/\\")
        or any(ord(c) < 32 or ord(c) == 127 for c in user)
    )
    if bad:
        raise InvalidUserNameError(
            f"User name {user!r} cannot be a workspace user: it must name one folder under /Users "
            "(no '/', '\\', control characters or surrounding spaces; e.g. 'ann@example.com')."
        )
    return user
