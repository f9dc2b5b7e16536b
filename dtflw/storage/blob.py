"""Azure Blob Storage as a dtflw file system, and how to reach an account (endpoint, credentials, retries).

The blob endpoint serves flat and hierarchical-namespace (ADLS Gen2) accounts alike, and Azurite.
Paths are the URLs of the storage (`<base><blob name>`). Every Azure failure becomes a dtflw error
naming account, container and path; credentials never reach a message, a log record or a `repr`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from dtflw.errors import StorageCredentialsError, StorageError, StorageUnavailableError
from dtflw.extras import extra, require
from dtflw.storage.cloud import RequestPolicy as RequestPolicy  # its home before S3 and GCS shared it
from dtflw.storage.cloud import ScannedListing
from dtflw.storage.tables import FileInfo

if TYPE_CHECKING:
    from azure.storage.blob import BlobProperties, ContainerClient

DEFAULT_DNS_SUFFIX = "core.windows.net"
EMULATOR_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key, published by Microsoft; treated like any other key.
EMULATOR_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
EMULATOR_URL = "http://127.0.0.1:10000"
PAGE_SIZE = 5000  # the service's maximum page of a blob listing
DEFAULT_BACKOFF = 1.0  # seconds between retries (linear, with jitter)

DEFAULT_CREDENTIAL = "DefaultAzureCredential"
TRIED_EXPLICIT = (
    "arguments connection_string=, account_key=, sas_token=, credential=",
    "environment variables AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT_KEY / AZURE_STORAGE_KEY, "
    "AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_USE_EMULATOR",
)
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_QUERY = re.compile(r"\?[^\s'\"()<>]*")
_SIGNATURE = re.compile(r"(sig=)[^&\s'\"]+")


class _SignatureRedactor(logging.Filter):
    """Masks SAS signatures in the request URLs urllib3 logs at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _SIGNATURE.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_SIGNATURE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


_REDACTOR = _SignatureRedactor()


@dataclass(frozen=True)
class BlobAuth:
    """Where and how to reach one storage account. Its `repr` names the mechanism, never the secret."""

    account: str
    endpoint: str  # the account's blob service URL, without a query
    mechanism: str  # "connection string", "account key", "SAS token", "credential object", DEFAULT_CREDENTIAL
    credential: Any = field(default=None, repr=False)
    tried: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_emulator(self) -> bool:
        """True for Azurite-style endpoints: a loopback host, with the account name in the path."""
        return urlsplit(self.endpoint).hostname in _LOOPBACK

    def for_account(self, account: str, dns_suffix: str = DEFAULT_DNS_SUFFIX) -> BlobAuth:
        """The same credential aimed at another account (to try reading a foreign input)."""
        if account == self.account:
            return self
        if self.is_emulator:
            return replace(self, account=account, endpoint=f"{self.endpoint.rsplit('/', 1)[0]}/{account}")
        return replace(self, account=account, endpoint=f"https://{account}.blob.{dns_suffix}")

    def secrets(self) -> list[str]:
        """The secret strings this auth holds (for scrubbing text): a key, a SAS token and its signature."""
        named = getattr(self.credential, "named_key", None)
        found = [v for v in (getattr(named, "key", None), getattr(self.credential, "signature", None)) if v]
        return found + [m.group(0)[len("sig=") :] for v in found for m in _SIGNATURE.finditer(v)]

    def sail_environment(self) -> SecretEnvironment:
        """The environment variables with which Sail (object_store) reaches this account."""
        env = SecretEnvironment(AZURE_STORAGE_ACCOUNT_NAME=self.account)
        key = getattr(getattr(self.credential, "named_key", None), "key", None)
        if key:
            env["AZURE_STORAGE_ACCOUNT_KEY"] = key
        sas = getattr(self.credential, "signature", None)
        if sas:
            env["AZURE_STORAGE_SAS_TOKEN"] = sas
        if self.is_emulator:
            parts = urlsplit(self.endpoint)
            env.update(AZURE_STORAGE_USE_EMULATOR="true", AZURITE_BLOB_STORAGE_URL=f"{parts.scheme}://{parts.netloc}")
        if self.endpoint.startswith("http://"):
            env["AZURE_ALLOW_HTTP"] = "true"
        return env


SECRET_VARIABLES = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN")


class SecretEnvironment(dict[str, str]):
    """Environment variables some of which are secrets: usable as a dict, shown with those masked."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {'***' if k in SECRET_VARIABLES else v!r}" for k, v in self.items()) + "}"


@dataclass(frozen=True)
class AzureCredentials:
    """Where an Azure storage's credentials come from, tried in this order: `connection_string`,
    `credential` (a key, a SAS token or an azure-identity credential object), `account_key`, `sas_token`,
    then the variables of `environ` (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT_KEY,
    AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_USE_EMULATOR). No value shows in its `repr()`."""

    connection_string: str | None = field(default=None, repr=False)
    credential: Any = field(default=None, repr=False)
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    environ: Mapping[str, str] | None = field(default=None, repr=False)


def find_auth(
    account: str,
    credentials: AzureCredentials,
    *,
    endpoint: str | None = None,
    dns_suffix: str = DEFAULT_DNS_SUFFIX,
) -> BlobAuth | None:
    """Credentials for `account` as `credentials` say, else from their `environ`; None if there are none."""
    require("azure", f"Azure storage account {account!r}", "azure.core", "azure.storage.blob")
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    connection_string, credential = credentials.connection_string, credentials.credential
    account_key, env = credentials.account_key, credentials.environ or {}
    endpoint, endpoint_sas = _split_endpoint(endpoint)
    sas_token = credentials.sas_token or endpoint_sas
    emulator = env.get("AZURE_STORAGE_USE_EMULATOR", "").lower() in ("1", "true", "yes")
    if endpoint is None and emulator:
        endpoint = f"{env.get('AZURITE_BLOB_STORAGE_URL', EMULATOR_URL).rstrip('/')}/{account}"
    default_endpoint = endpoint or f"https://{account}.blob.{dns_suffix}"
    if connection_string:
        return _from_connection_string(account, connection_string, endpoint)
    if credential is not None:
        if isinstance(credential, str) and "sig=" in credential:
            return BlobAuth(account, default_endpoint, "SAS token", AzureSasCredential(credential.lstrip("?")))
        if isinstance(credential, str):
            return BlobAuth(account, default_endpoint, "account key", AzureNamedKeyCredential(account, credential))
        return BlobAuth(account, default_endpoint, "credential object", credential)
    if account_key:
        return BlobAuth(account, default_endpoint, "account key", AzureNamedKeyCredential(account, account_key))
    if sas_token:
        return BlobAuth(account, default_endpoint, "SAS token", AzureSasCredential(sas_token.lstrip("?")))
    if env.get("AZURE_STORAGE_CONNECTION_STRING"):
        with contextlib.suppress(StorageCredentialsError):  # a connection string for another account
            return _from_connection_string(account, env["AZURE_STORAGE_CONNECTION_STRING"], endpoint)
    named = env.get("AZURE_STORAGE_ACCOUNT_NAME") or env.get("AZURE_STORAGE_ACCOUNT")
    if named and named != account:
        return None
    key = env.get("AZURE_STORAGE_ACCOUNT_KEY") or env.get("AZURE_STORAGE_KEY")
    if not key and emulator and account == EMULATOR_ACCOUNT:
        key = EMULATOR_KEY
    if key:
        return BlobAuth(account, default_endpoint, "account key", AzureNamedKeyCredential(account, key))
    if env.get("AZURE_STORAGE_SAS_TOKEN"):
        sas = AzureSasCredential(env["AZURE_STORAGE_SAS_TOKEN"].lstrip("?"))
        return BlobAuth(account, default_endpoint, "SAS token", sas)
    return None


def default_auth(account: str, endpoint: str | None, dns_suffix: str, tried: tuple[str, ...]) -> BlobAuth:
    """azure-identity's `DefaultAzureCredential` (environment, managed identity, Azure CLI, …)."""
    endpoint, _ = _split_endpoint(endpoint)
    endpoint = endpoint or f"https://{account}.blob.{dns_suffix}"
    tried = (*tried, DEFAULT_CREDENTIAL)
    if not endpoint.startswith("https://"):
        raise StorageCredentialsError(
            f"No credentials for Azure storage account {account!r} at {endpoint}: tried {'; '.join(tried)}. "
            f"{DEFAULT_CREDENTIAL} needs an https endpoint; give a connection string, account key or SAS token."
        )
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as e:
        raise StorageCredentialsError(
            f"No credentials for Azure storage account {account!r}: tried {'; '.join(tried[:-1])}; "
            f"{DEFAULT_CREDENTIAL} needs `pip install azure-identity` (or `dtflw[azure]`)."
        ) from e
    return BlobAuth(account, endpoint, DEFAULT_CREDENTIAL, DefaultAzureCredential(), tried)


def _split_endpoint(endpoint: str | None) -> tuple[str | None, str | None]:
    """An endpoint URL without its query, and the query (a SAS token) if it had one."""
    if not endpoint:
        return None, None
    base, _, query = endpoint.partition("?")
    return base.rstrip("/"), query or None


def _from_connection_string(account: str, text: str, endpoint: str | None) -> BlobAuth:
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    parts = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    if parts.get("UseDevelopmentStorage", "").lower() == "true":
        parts = {"AccountName": EMULATOR_ACCOUNT, "AccountKey": EMULATOR_KEY, "BlobEndpoint": EMULATOR_URL}
        parts["BlobEndpoint"] += "/" + EMULATOR_ACCOUNT
    named = parts.get("AccountName")
    if named and named != account:
        raise StorageCredentialsError(
            f"The connection string is for Azure storage account {named!r}, not {account!r}; "
            "give the connection string of this account."
        )
    protocol = parts.get("DefaultEndpointsProtocol", "https")
    suffix = parts.get("EndpointSuffix", DEFAULT_DNS_SUFFIX)
    url = endpoint or parts.get("BlobEndpoint", "").rstrip("/") or f"{protocol}://{account}.blob.{suffix}"
    if parts.get("AccountKey"):
        return BlobAuth(account, url, "connection string", AzureNamedKeyCredential(account, parts["AccountKey"]))
    if parts.get("SharedAccessSignature"):
        return BlobAuth(account, url, "connection string", AzureSasCredential(parts["SharedAccessSignature"]))
    raise StorageCredentialsError(
        f"The connection string for Azure storage account {account!r} has neither AccountKey nor "
        "SharedAccessSignature; copy the full connection string from the portal."
    )


class BlobFileSystem(ScannedListing):
    """One container, reached with `azure-storage-blob`; paths are `base` + blob name."""

    def __init__(
        self,
        auth: BlobAuth,
        container: str,
        base: str,
        requests: RequestPolicy = RequestPolicy(),  # noqa: B008 - frozen, shared safely
    ):
        with extra("azure", f"Azure storage container {container!r}"):
            from azure.storage.blob import ContainerClient, LinearRetry

        logging.getLogger("urllib3.connectionpool").addFilter(_REDACTOR)
        self.auth = auth
        self.container = container
        self.base = base
        self.retries = requests.retries
        self._page_size = requests.page_size_or(PAGE_SIZE)
        backoff = requests.backoff_or(DEFAULT_BACKOFF)
        self._client = ContainerClient(
            account_url=auth.endpoint,
            container_name=container,
            credential=auth.credential,
            retry_policy=LinearRetry(
                # azure-storage-blob annotates these seconds as int; its policy computes with them as floats
                backoff=backoff,  # type: ignore[arg-type]
                retry_total=requests.retries,
                random_jitter_range=backoff / 2,  # type: ignore[arg-type]
            ),
            connection_timeout=min(requests.timeout, 10.0),
            read_timeout=requests.timeout,
        )

    def __repr__(self) -> str:
        return f"BlobFileSystem({self.base!r}, endpoint={self.auth.endpoint!r}, auth={self.auth.mechanism!r})"

    # -- listing ----------------------------------------------------------------------------
    def list_dir(self, path: str) -> list[FileInfo]:
        prefix = self._name(path).rstrip("/")
        prefix = prefix + "/" if prefix else ""
        found: dict[str, FileInfo] = {}
        with self._errors(path, "list"):
            for item in self._client.walk_blobs(name_starts_with=prefix, include=["metadata"], delimiter="/"):
                if item.name.endswith("/"):  # a BlobPrefix: the folder of deeper blobs
                    info = FileInfo(self.base + item.name, item.name[len(prefix) :], is_dir=True)
                else:  # walk_blobs yields a BlobPrefix only for a name ending with the delimiter
                    info = self._info(cast("BlobProperties", item))
                found.setdefault(info.name, info)
        return sorted(found.values(), key=lambda i: i.name)

    def _scan(self, path: str, until_found: bool) -> tuple[list[FileInfo], bool]:
        name = self._name(path).rstrip("/")
        below = name + "/" if name else ""
        found: list[FileInfo] = []
        with self._errors(path, "list"):
            pages = self._client.list_blobs(
                name_starts_with=name, include=["metadata"], results_per_page=self._page_size
            ).by_page()
            for page in pages:
                for blob in page:
                    if blob.name == name or blob.name.startswith(below):
                        found.append(self._info(blob))
                    elif blob.name > below:  # names are sorted: nothing further can match
                        return found, True
                # by_page() is annotated as an Iterator; it is azure-core's PageIterator, which has the token
                if until_found and found and pages.continuation_token:  # type: ignore[attr-defined]
                    return found, False
        return found, True

    def _info(self, blob: BlobProperties) -> FileInfo:
        is_dir = (blob.metadata or {}).get("hdi_isfolder") == "true"  # a folder of an ADLS Gen2 account
        path = self.base + blob.name + ("/" if is_dir else "")
        return FileInfo(
            path=path,
            name=blob.name.rsplit("/", 1)[-1] + ("/" if is_dir else ""),
            size=0 if is_dir else blob.size,
            modification_time=int(blob.last_modified.timestamp() * 1000) if blob.last_modified else 0,
            is_dir=is_dir,
            etag=(blob.etag or "").strip('"'),
        )

    # -- files ------------------------------------------------------------------------------
    def read_text(self, path: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._errors(path, "read"):
            try:
                return self._client.download_blob(self._name(path)).readall().decode("utf-8")
            except ResourceNotFoundError as e:
                # set on the error by azure-storage-blob's error handler; azure-core's class does not declare it
                if e.error_code == "ContainerNotFound":  # type: ignore[attr-defined]
                    raise
                return None

    def write_text(self, path: str, text: str) -> None:
        """One PUT of the whole blob: readers see the old or the new text, never a part."""
        with self._errors(path, "write"):
            self._client.upload_blob(self._name(path), text.encode("utf-8"), overwrite=True)

    def delete(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        names = [self._name(i.path).rstrip("/") for i in self.list_files(path)]
        with self._errors(path, "delete"):
            for name in sorted(set(names), reverse=True):  # children before their folders
                with contextlib.suppress(ResourceNotFoundError):
                    self._client.delete_blob(name)

    @property
    def container_client(self) -> ContainerClient:
        """The `azure.storage.blob.ContainerClient` of this container (for leases)."""
        return self._client

    def blob_name(self, path: str) -> str:
        """The blob name of a path in this container."""
        return self._name(path)

    # -- helpers ----------------------------------------------------------------------------
    def _name(self, path: str) -> str:
        if not path.startswith(self.base) and path + "/" != self.base:
            raise StorageError(f"Path {path!r} is not in container {self.base!r}.")
        return path[len(self.base) :]

    @contextlib.contextmanager
    def _errors(self, path: str, action: str) -> Iterator[None]:
        """Turn Azure SDK errors into dtflw errors naming account, container and path, secrets scrubbed."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = f"{path!r} (storage account {self.auth.account!r}, container {self.container!r})"
        try:
            yield
        except ClientAuthenticationError as e:
            if e.response is None:  # the credential found no identity before any request
                names = re.findall(r"^\s+(\w+Credential):", str(e), re.MULTILINE)
                tried = "; ".join(self.auth.tried) or self.auth.mechanism
                tried += f" ({', '.join(names)})" if names else ""
                raise StorageCredentialsError(
                    f"No credentials to {action} {where}: tried {tried}. "
                    "Give a connection string, account key or SAS token, or sign in (e.g. `az login`)."
                ) from None
            raise StorageCredentialsError(
                f"Azure refused the {self.auth.mechanism} to {action} {where} ({self._reason(e)}); "
                "check the key, SAS token or role assignment."
            ) from None
        except ResourceNotFoundError as e:
            raise StorageError(
                f"Cannot {action} {where}: {self._reason(e)}; create container {self.container!r} "
                f"in account {self.auth.account!r} or fix the name."
            ) from None
        except (ServiceRequestError, ServiceResponseError) as e:
            raise self._unavailable(action, where, e) from None
        except HttpResponseError as e:
            if e.status_code in (408, 429) or (e.status_code or 0) >= 500:
                raise self._unavailable(action, where, e) from None
            if e.status_code == 403:
                raise StorageCredentialsError(
                    f"Azure denied the {self.auth.mechanism} to {action} {where} ({self._reason(e)}); "
                    "grant it access (e.g. the 'Storage Blob Data Reader/Contributor' role) or use another."
                ) from None
            raise StorageError(f"Cannot {action} {where}: {self._reason(e)}.") from None

    def _unavailable(self, action: str, where: str, error: Exception) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"Azure storage did not answer to {action} {where} after {self.retries} retries "
            f"({self._reason(error)}); check that {self.auth.endpoint} is reachable, then rerun."
        )

    def _reason(self, error: Exception) -> str:
        """A short description of an Azure error, without query strings or secrets."""
        code = getattr(error, "error_code", None)
        code = getattr(code, "value", code)  # the SDK's StorageErrorCode enum
        status = getattr(error, "status_code", None)
        if code or status:
            return " ".join(str(p) for p in ("HTTP", status, code) if p)
        text = str(error).splitlines()[0] if str(error) else ""
        text = _QUERY.sub("?…", text)
        for secret in self.auth.secrets():
            text = text.replace(secret, "***")
        return f"{type(error).__name__}: {text[:200]}"
