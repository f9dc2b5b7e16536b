"""AzureStorage without a service: URL styles, path mapping, names, credentials, Sail settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from testkit import azure_storage

from dtflw.errors import (
    InvalidStorageNameError,
    PathOutsideStorageError,
    StorageCredentialsError,
    StorageError,
)
from dtflw.storage import from_url as storage_from_url
from dtflw.storage.azure import AzureStorage, from_url, init_storage, parse_azure_url
from dtflw.storage.blob import AzureCredentials

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm"  # a made-up account key
WASBS = "wasbs://con@acc.blob.core.windows.net/"
ABFSS = "abfss://con@acc.dfs.core.windows.net/"


def make(**kwargs) -> AzureStorage:
    kwargs.setdefault("account_key", KEY)
    return azure_storage("acc", "con", kwargs.pop("root_dir", "analysis"), **kwargs)


def test_base_path_is_wasbs_by_default_as_in_dtflw_06():
    storage = init_storage("acc", "con", "analysis", account_key=KEY)
    assert storage.base_path == WASBS
    assert storage.url == WASBS + "analysis"
    assert storage.root_dir == "analysis"
    assert (storage.account_name, storage.container_name, storage.url_style) == ("acc", "con", "wasbs")
    default_output = storage.get_abs_path(
        storage.get_path_in_root_dir(storage.get_path_with_file_extension("project/calculate_sales_stats/Stats"))
    )
    assert default_output == WASBS + "analysis/project/calculate_sales_stats/Stats.parquet"


def test_abfss_style():
    storage = make(url_style="abfss")
    assert storage.base_path == ABFSS
    assert storage.get_abs_path("raw/x.csv") == ABFSS + "raw/x.csv"


@pytest.mark.parametrize(
    "path",
    [
        WASBS + "raw/x.csv",
        ABFSS + "raw/x.csv",
        "wasb://con@acc.blob.core.windows.net/raw/x.csv",
        "abfs://con@acc.dfs.core.windows.net/raw/x.csv",
        "az://con/raw/x.csv",
        "ABFSS://con@ACC.dfs.core.windows.net/raw/x.csv",
    ],
)
@pytest.mark.parametrize("style,base", [("wasbs", WASBS), ("abfss", ABFSS)])
def test_every_url_style_is_absolute_and_normalised_to_the_storage_style(path, style, base):
    storage = make(url_style=style)
    assert storage.is_abs_path(path)
    assert storage.get_abs_path(path) == base + "raw/x.csv"
    assert storage.logical_path(path) == base + "raw/x.csv"


def test_relative_paths_are_not_absolute():
    storage = make()
    assert not storage.is_abs_path("raw/x.csv")
    assert not storage.is_abs_path("")
    assert storage.get_abs_path("/raw/x.csv") == WASBS + "raw/x.csv"
    assert storage.get_abs_path("") == WASBS


@pytest.mark.parametrize(
    "path,named",
    [
        ("wasbs://other@acc.blob.core.windows.net/x", "container 'other' of account 'acc'"),
        ("abfss://con@otheracc.dfs.core.windows.net/x", "container 'con' of account 'otheracc'"),
        ("abfss://con@acc.dfs.core.chinacloudapi.cn/x", "container 'con' of account 'acc'"),
        ("az://other/x", "container 'other'"),
    ],
)
def test_paths_of_other_containers_or_accounts_are_rejected_naming_both(path, named):
    with pytest.raises(PathOutsideStorageError) as caught:
        make().get_abs_path(path)
    message = str(caught.value)
    assert path in message and named in message
    assert WASBS in message and "container 'con' of account 'acc'" in message


@pytest.mark.parametrize("path", ["dbfs:/FileStore/x", "s3://bucket/x", "file:///tmp/x"])
def test_paths_of_other_schemes_are_rejected(path):
    with pytest.raises(PathOutsideStorageError, match="outside storage") as caught:
        make().get_abs_path(path)
    assert path in str(caught.value) and WASBS in str(caught.value)


def test_foreign_input_of_another_scheme_is_not_readable_without_dbutils():
    with pytest.raises(PathOutsideStorageError, match="not an Azure path") as caught:
        make().resolve_foreign_input("dbfs:/FileStore/x.csv")
    assert "dbfs:/FileStore/x.csv" in str(caught.value) and WASBS in str(caught.value)


def test_engine_path_is_the_logical_path_on_a_cluster():
    storage = make()
    assert storage.engine_path(WASBS + "t/T.parquet") == WASBS + "t/T.parquet"


def test_engine_path_is_abfss_for_sail():
    storage = make(engine_url_style="abfss")
    assert storage.engine_path(WASBS + "t/T.parquet") == ABFSS + "t/T.parquet"
    other = "wasbs://other@acc2.blob.core.windows.net/x.csv"
    assert storage.engine_path(other) == "abfss://other@acc2.dfs.core.windows.net/x.csv"
    assert storage.engine_path("az://con/x") == ABFSS + "x"
    assert storage.engine_path("/local/x") == "/local/x"
    assert storage.logical_path(ABFSS + "t/T.parquet") == WASBS + "t/T.parquet"


def test_unknown_url_style():
    with pytest.raises(StorageError, match="url_style 'https'"):
        make(url_style="https")
    with pytest.raises(StorageError, match="engine_url_style 'wasb'"):
        make(engine_url_style="wasb")


@pytest.mark.parametrize("account", ["", None, "ab", "a" * 25, "Acc", "my-acc", "my_acc", "acc.x", "accé"])
def test_invalid_account_names_fail_before_any_request(account):
    with pytest.raises(InvalidStorageNameError, match="account name") as caught:
        init_storage(account, "con", "", account_key=KEY, endpoint="http://127.0.0.1:9/acc")
    assert isinstance(caught.value, ValueError)  # dtflw 0.6 raised ValueError


@pytest.mark.parametrize(
    "container", ["", None, "ab", "c" * 64, "Con", "-con", "con-", "co--n", "co_n", "co.n", "con/x"]
)
def test_invalid_container_names_fail_before_any_request(container):
    with pytest.raises(InvalidStorageNameError, match="container name") as caught:
        init_storage("acc", container, "", account_key=KEY, endpoint="http://127.0.0.1:9/acc")
    assert repr(container) in str(caught.value)


@pytest.mark.parametrize("account,container", [("abc", "abc"), ("a" * 24, "c" * 63), ("acc1", "raw-data-2")])
def test_valid_names_at_the_limits(account, container):
    assert azure_storage(account, container, account_key=KEY).base_path.startswith(f"wasbs://{container}@{account}.")


def test_root_dir_defaults_to_the_user():
    assert init_storage("acc", "con", account_key=KEY, user="me@x.com").root_dir == "me@x.com"
    import getpass

    assert init_storage("acc", "con", account_key=KEY).root_dir == getpass.getuser()


def test_from_url_round_trips(monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", KEY)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    for url in (WASBS + "analysis", ABFSS + "analysis/sub"):
        storage = storage_from_url(url)
        assert isinstance(storage, AzureStorage)
        assert storage.url == url
        assert from_url(storage.url).base_path == storage.base_path
        assert storage.auth_mechanism == "account key"
    assert storage_from_url(ABFSS + "r?format=delta").table_format == "delta"
    sovereign = from_url("abfss://con@acc.dfs.core.chinacloudapi.cn/r")
    assert sovereign.base_path == "abfss://con@acc.dfs.core.chinacloudapi.cn/"
    assert sovereign.fs.auth.endpoint == "https://acc.blob.core.chinacloudapi.cn"
    with pytest.raises(StorageError, match="malformed"):
        from_url("abfss://nohost/x")


def test_parse_azure_url():
    location = parse_azure_url("abfss://con@acc.dfs.core.windows.net/a/b")
    assert (location.container, location.account, location.path) == ("con", "acc", "a/b")
    assert parse_azure_url("/Volumes/a/b/c") is None
    assert parse_azure_url("az://con").path == ""


# -- credentials ---------------------------------------------------------------------------------
SAS = "sv=2024-08-04&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=c2lnbmF0dXJlLXNlY3JldA%3D%3D"


@pytest.mark.parametrize(
    "kwargs,environ,mechanism",
    [
        ({"account_key": KEY}, {}, "account key"),
        ({"sas_token": "?" + SAS}, {}, "SAS token"),
        ({"credential": SAS}, {}, "SAS token"),
        ({"credential": KEY}, {}, "account key"),
        (
            {"connection_string": f"AccountName=acc;AccountKey={KEY};EndpointSuffix=core.windows.net"},
            {},
            "connection string",
        ),
        ({"endpoint": "https://acc.blob.core.windows.net/?" + SAS}, {}, "SAS token"),
        ({}, {"AZURE_STORAGE_CONNECTION_STRING": f"AccountName=acc;AccountKey={KEY}"}, "connection string"),
        ({}, {"AZURE_STORAGE_ACCOUNT_KEY": KEY, "AZURE_STORAGE_ACCOUNT_NAME": "acc"}, "account key"),
        ({}, {"AZURE_STORAGE_KEY": KEY}, "account key"),
        ({}, {"AZURE_STORAGE_SAS_TOKEN": SAS}, "SAS token"),
        ({"account_key": KEY}, {"AZURE_STORAGE_SAS_TOKEN": SAS}, "account key"),
    ],
)
def test_credential_mechanisms(kwargs, environ, mechanism):
    storage = azure_storage("acc", "con", environ=environ, **kwargs)
    assert storage.auth_mechanism == mechanism
    assert storage.fs.auth.endpoint == "https://acc.blob.core.windows.net"


def test_environment_credentials_of_another_account_are_not_used():
    environ = {"AZURE_STORAGE_ACCOUNT_KEY": KEY, "AZURE_STORAGE_ACCOUNT_NAME": "otheracc"}
    assert azure_storage("acc", "con", environ=environ).auth_mechanism == "DefaultAzureCredential"


def test_emulator_environment_is_read_like_sail_does():
    environ = {"AZURE_STORAGE_USE_EMULATOR": "true", "AZURITE_BLOB_STORAGE_URL": "http://127.0.0.1:10999"}
    storage = azure_storage("devstoreaccount1", "con", environ=environ)
    assert storage.fs.auth.endpoint == "http://127.0.0.1:10999/devstoreaccount1"
    assert storage.auth_mechanism == "account key"


def test_development_storage_shortcut_and_other_accounts():
    azurite = azure_storage("devstoreaccount1", "con", connection_string="UseDevelopmentStorage=true")
    assert azurite.fs.auth.endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert azurite.fs.auth.for_account("other").endpoint == "http://127.0.0.1:10000/other"
    assert make().fs.auth.for_account("other").endpoint == "https://other.blob.core.windows.net"


def test_a_connection_string_of_another_account_is_an_error():
    with pytest.raises(StorageCredentialsError, match="'other', not 'acc'"):
        azure_storage("acc", "con", connection_string=f"AccountName=other;AccountKey={KEY}")
    with pytest.raises(StorageCredentialsError, match="neither AccountKey nor SharedAccessSignature"):
        azure_storage("acc", "con", connection_string="AccountName=acc;EndpointSuffix=core.windows.net")


def test_missing_credentials_on_an_http_endpoint_name_what_was_tried():
    with pytest.raises(StorageCredentialsError) as caught:
        azure_storage("acc", "con", endpoint="http://127.0.0.1:9/acc", environ={})
    message = str(caught.value)
    for tried in (
        "connection_string=",
        "account_key=",
        "sas_token=",
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "dbutils",
        "DefaultAzureCredential",
    ):
        assert tried in message
    assert "'acc'" in message
    local_dbutils = SimpleNamespace(lists_cloud_storage=False, fs=None)  # as the local runtime's: no Azure listing
    with pytest.raises(StorageCredentialsError, match="DefaultAzureCredential"):
        azure_storage("acc", "con", endpoint="http://127.0.0.1:9/acc", dbutils=local_dbutils)


def test_missing_credentials_fail_at_the_first_request_naming_what_was_tried(monkeypatch):
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no az / azd / pwsh to ask
    storage = azure_storage("acc", "con", endpoint="https://127.0.0.1:9/acc", retries=0, retry_backoff=0)
    assert storage.auth_mechanism == "DefaultAzureCredential"
    with pytest.raises(StorageCredentialsError) as caught:
        storage.exists("t/T.parquet")
    message = str(caught.value)
    assert "No credentials to list" in message and "t/T.parquet" in message and "'con'" in message
    assert "account_key=" in message and "AZURE_STORAGE_ACCOUNT_KEY" in message
    assert "EnvironmentCredential" in message and "AzureCliCredential" in message


def test_sail_environment_for_an_account_key_and_a_sas():
    env = make().sail_environment()
    assert env == {"AZURE_STORAGE_ACCOUNT_NAME": "acc", "AZURE_STORAGE_ACCOUNT_KEY": KEY}
    sas_env = make(account_key=None, sas_token=SAS).sail_environment()
    assert sas_env == {"AZURE_STORAGE_ACCOUNT_NAME": "acc", "AZURE_STORAGE_SAS_TOKEN": SAS}


def test_no_secret_in_reprs():
    for storage in (
        make(),
        make(account_key=None, sas_token=SAS),
        make(account_key=None, connection_string=(f"DefaultEndpointsProtocol=https;AccountName=acc;AccountKey={KEY}")),
    ):
        shown = " ".join(
            [repr(storage), str(storage), repr(storage.fs), repr(storage.fs.auth), repr(storage.sail_environment())]
        )
        assert KEY not in shown and "c2lnbmF0dXJlLXNlY3JldA" not in shown
        assert "***" in repr(storage.sail_environment())
        assert "acc" in shown
    given = AzureCredentials(connection_string=f"AccountKey={KEY}", account_key=KEY, sas_token=SAS, environ={"K": KEY})
    assert KEY not in repr(given) and "c2lnbmF0dXJlLXNlY3JldA" not in repr(given)


def test_the_request_policy_shared_with_s3_and_gcs_keeps_azures_defaults():
    default = make().fs
    retry = default._client._config.retry_policy
    assert (default._page_size, retry.backoff, retry.random_jitter_range, retry.total_retries) == (5000, 1.0, 0.5, 3)
    tuned = make(retries=1, retry_backoff=0.2, page_size=7).fs
    retry = tuned._client._config.retry_policy
    assert (tuned._page_size, retry.backoff, retry.random_jitter_range, retry.total_retries) == (7, 0.2, 0.1, 1)
