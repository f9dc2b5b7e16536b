"""Secrets never leave a run: the redaction policy, every sink, the secrets file, the run-history key."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import re
import threading

import pytest
from click.testing import CliRunner

from dtflw.cli import main
from dtflw.errors import InvalidUserNameError, SecretsFileError
from dtflw.events import FlowRun, NotebookRun, RunStatus
from dtflw.lineage import html_assets
from dtflw.lineage.recorder import LineageRecorder
from dtflw.listeners import LoggingListener, WebhookNotifier
from dtflw.local.dbutils import SecretNotFoundError
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.secrets import _BOUNDARY, _RIGHT, MIN_EMBEDDED, REDACTED, display_url, redact_args, scrub
from dtflw.storage.local import LocalStorage

RUN_ID = "0193a1b7-7c4e-7a77-8f07-7e7d7c7b7a77"


# -- the policy -----------------------------------------------------------------------------------
def test_a_short_secret_is_redacted_only_where_it_stands_alone():
    secrets = {"7", "ab"}
    assert scrub("7", secrets) == REDACTED
    assert (
        scrub("pin 7 rejected; code=ab, 'ab'.", secrets) == f"pin {REDACTED} rejected; code={REDACTED}, '{REDACTED}'."
    )
    kept = f"run {RUN_ID} wrote /data/7/ab/x.parquet via https://h.example:7/ab?v=a7b in 7.5 s, v7, tab"
    assert scrub(kept, secrets) == kept


def test_a_long_secret_is_redacted_wherever_it_occurs_and_metacharacters_are_literal():
    secrets = {"a.*+?[x](y)|$^\\", "pässwörd-秘密", "918273645"}
    text = "x=a.*+?[x](y)|$^\\ and pässwörd-秘密! id918273645z aXXXXy"
    assert scrub(text, secrets) == f"x={REDACTED} and {REDACTED}! id{REDACTED}z aXXXXy"


def test_redaction_never_raises_and_takes_numbers():
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no")

    assert scrub("pin 1234 and 7", {1234, 7, None, ""}) == f"pin {REDACTED} and {REDACTED}"
    assert scrub(Unprintable(), {"x"}) == REDACTED
    assert scrub(None, {"x"}) is None
    assert redact_args({"token": "t0ken", "n": "1234", "y": "2024"}, {"token"}, {1234}) == {
        "token": REDACTED,
        "n": REDACTED,
        "y": "2024",
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T/B/secret", "https://hooks.slack.com"),
        ("https://u:p@host.example:8443/x?sig=1", "https://host.example:8443"),
        ("not a url", "<URL without host>"),
        ("http://[::1", "<unparseable URL>"),
    ],
)
def test_a_url_is_shown_as_scheme_and_host(url, shown):
    assert display_url(url) == shown


# -- the lineage writer -----------------------------------------------------------------------------
def test_a_numeric_or_one_character_secret_neither_kills_the_lineage_writer_nor_corrupts_ids(tmp_path):
    storage = LocalStorage(str(tmp_path / "7"))
    recorder = LineageRecorder(storage, secrets={1234, "7"}, describe_tables=False)
    flow = FlowRun(RUN_ID, "/Users/u/7/main", storage.url, "")
    run = NotebookRun(RUN_ID.replace("a", "b"), RUN_ID, "/Users/u/7/nb", "nb", {"pin": "1234", "v": "7"}, [], [])
    recorder.on_flow_start(flow)
    recorder.on_notebook_start(flow, run)
    run.status, run.error, run.ended = RunStatus.FAILED, "ValueError: pin 1234 (7) refused", run.started + 1
    recorder.on_notebook_end(flow, run)
    assert recorder.flush(timeout=10), "the writer thread died"
    (doc,) = [json.loads(p.read_text()) for p in (tmp_path / "7" / "_dtflw" / "runs").iterdir()]
    (written,) = doc["notebook_runs"]
    assert doc["flow_run"]["run_id"] == RUN_ID and written["run_id"] == run.run_id
    assert written["notebook_path"] == "/Users/u/7/nb" and doc["flow_run"]["storage_url"] == storage.url
    assert written["args"] == {"pin": REDACTED, "v": REDACTED}
    assert written["error"] == f"ValueError: pin {REDACTED} ({REDACTED}) refused"


# -- the secrets file and the user, checked at start ---------------------------------------------------
def _run_cli(tmp_path, *options):
    notebook = tmp_path / "ws" / "p" / "main.py"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    notebook.write_text("# Databricks notebook source\nprint('ran')\n")
    arguments = ["run", str(notebook), "--storage", str(tmp_path / "storage"), *options]
    return CliRunner().invoke(main, arguments, catch_exceptions=False)


def test_a_missing_or_malformed_secrets_file_is_a_typed_error_before_anything_runs(tmp_path):
    missing = _run_cli(tmp_path, "--secrets-file", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "ran" not in missing.output
    assert "SecretsFileError" in missing.stderr and "nope.json" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"kv": {"a": "b",}}')
    malformed = _run_cli(tmp_path, "--secrets-file", str(bad))
    assert malformed.exit_code == 1 and "ran" not in malformed.output
    assert "SecretsFileError" in malformed.stderr and "bad.json" in malformed.stderr
    assert "line 1, column 18" in malformed.stderr
    bad.write_text('{"kv": ["a"]}')
    assert "must hold an object of scopes" in _run_cli(tmp_path, "--secrets-file", str(bad)).stderr


@pytest.mark.parametrize("user", ["a/b", "..", " ann", "a\\b"])
def test_a_user_name_that_is_not_one_folder_is_rejected_at_start(tmp_path, user):
    result = _run_cli(tmp_path, "--user", user)
    assert result.exit_code == 1 and "InvalidUserNameError" in result.stderr and "ran" not in result.output


def test_a_secret_not_found_mentions_the_secrets_file_option(make_workspace, tmp_path):
    ws = make_workspace()
    ws.write("p/nb.py", "dbutils.secrets.get('kv', 'nope')")
    with pytest.raises(Exception, match="--secrets-file") as raised:
        ws.run("p/nb.py")
    assert isinstance(raised.value.__cause__, SecretNotFoundError)
    with pytest.raises(SecretsFileError):
        make_workspace(secrets_file=str(tmp_path / "absent.json"))
    with pytest.raises(InvalidUserNameError):
        LocalWorkspace(str(tmp_path), ws.local.engine, LocalSettings(user="x/y"))


# -- the run-history key ------------------------------------------------------------------------------
def test_arg_fingerprints_are_hmacs_under_a_random_key_of_each_storage(make_workspace, tmp_path):
    from dtflw.incremental.key import keyed_hash

    ws = make_workspace()
    ws.write("p/nb.py", "from dtflw import init_outputs\nspark.range(1).write.parquet(init_outputs('T')['T'].value)")
    ws.write(
        "p/main.py",
        "from dtflw import init_flow\ninit_flow().notebook('nb').args({'pin': '0000'}, secret='pin').output('T').run()",
    )
    ws.run("p/main.py")
    key_text = (ws.storage_folder / "_dtflw" / "key").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", key_text)
    (state,) = [json.loads(p.read_text()) for p in (ws.storage_folder / "_dtflw" / "state").iterdir()]
    assert state["args"]["pin"] == keyed_hash(bytes.fromhex(key_text), "0000")
    assert state["args"]["pin"] != hashlib.sha256(b"0000").hexdigest()[:16], "an unsalted hash is a lookup away"
    assert keyed_hash(b"\0" * 32, "0000") != state["args"]["pin"], "another storage, another key"


# -- printed output -----------------------------------------------------------------------------------
def test_a_secret_printed_or_displayed_by_a_notebook_shows_redacted(make_workspace, tmp_path, capsys):
    secrets_file = tmp_path / "s.json"
    secrets_file.write_text(json.dumps({"kv": {"token": "tok-12345", "pin": 7}}))
    ws = make_workspace(secrets_file=str(secrets_file))
    ws.write(
        "p/nb.py",
        """
t, p = dbutils.secrets.get("kv", "token"), dbutils.secrets.get("kv", "pin")
print("token is", t, "and pin", p)
display(f"shown {t}")
import sys
sys.stdout.write("in " + t[:4])
sys.stdout.write(t[4:] + " pieces\\n")
print("run /data/7/x v7 7.5")
""",
    )
    ws.run("p/nb.py")
    out = capsys.readouterr().out
    assert "tok-12345" not in out and "tok-" not in out.replace(f"in {REDACTED}", "")
    assert f"token is {REDACTED} and pin {REDACTED}" in out and f"shown {REDACTED}" in out
    assert f"in {REDACTED} pieces" in out and "run /data/7/x v7 7.5" in out


# -- the corpus, through every sink ---------------------------------------------------------------------
CORPUS = {
    "num": 918273645,  # a number in the secrets file
    "one": "7",
    "two": "ab",
    "three": "x9z",
    "uni": "pässwörd-秘密",
    "regex": "a.*+?[x](y)|$^\\",
    "seg": "etl",  # the folder of the notebooks: a segment of every notebook path
}
SECRET_ARG = "marked-arg-Qv3"
SHORT_ARG = "q8"
WRITE = """
from dtflw import init_args, init_outputs
args = init_args("token", "pin")
spark.range(2).write.mode("overwrite").parquet(init_outputs("T")["T"].value)
dbutils.notebook.exit("exit " + args["token"].value + " " + args["pin"].value)
"""
LEAK = """
values = [dbutils.secrets.get("kv", k) for k in KEYS]
print("leak prints", *values)
raise ValueError("leaking " + " ".join(values) + " " + dbutils.widgets.get("token") + " " + dbutils.widgets.get("pin"))
""".replace("KEYS", repr(list(CORPUS)))
MAIN = (
    """
from dtflw import init_flow
flow = init_flow()
values = [dbutils.secrets.get("kv", k) for k in KEYS]
print("main prints", *values)
flow.notebook("write").args({"token": "SECRET_ARG", "pin": "SHORT_ARG", "year": "2024"}, secret=["token", "pin"]).output("T").run()
try:
    flow.notebook("leak").args({"token": "SECRET_ARG", "pin": "SHORT_ARG"}, secret=["token", "pin"]).input("T").run()
except Exception:
    pass
raise RuntimeError("final " + " ".join(values))
""".replace("KEYS", repr(list(CORPUS)))
    .replace("SECRET_ARG", SECRET_ARG)
    .replace("SHORT_ARG", SHORT_ARG)
)


def occurrences(text: str, secret: str) -> int:
    """Leaks of `secret` in `text` as the policy defines them: anywhere if long, standing alone if short."""
    if len(secret) >= MIN_EMBEDDED:
        return text.count(secret)
    return len(re.findall(f"(?<![^{_BOUNDARY}]){re.escape(secret)}{_RIGHT}", text))


@pytest.fixture
def webhook():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_the_secret_corpus_reaches_no_sink_and_ids_and_paths_stay_intact(
    make_workspace, tmp_path, webhook, caplog, capsys
):
    caplog.set_level(logging.INFO)
    url, payloads = webhook
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"kv": CORPUS}, ensure_ascii=False))
    ws = make_workspace(secrets_file=str(secrets_file), listeners=[LoggingListener(), WebhookNotifier(url)])
    for name, source in (("write", WRITE), ("leak", LEAK), ("main", MAIN)):
        ws.write(f"etl/{name}.py", source)
    with pytest.raises(Exception, match="final") as raised:
        ws.run("etl/main.py")
    sinks = {"error raised": str(raised.value), "notebook output": capsys.readouterr().out}
    cli = CliRunner()
    run = cli.invoke(
        main,
        ["run", str(ws.root / "etl/main.py"), "--storage", str(ws.storage_folder), "--dbfs-root", str(ws.dbfs_folder),
         "--user", "tester@example.com", "--secrets-file", str(secrets_file)],
        catch_exceptions=False,
    )  # fmt: skip
    assert run.exit_code == 1 and "RuntimeError: final" in run.stderr
    sinks["cli run"] = run.output
    sinks["cli final line"] = run.stderr.strip().splitlines()[-1]
    for fmt in ("json", "openlineage", "mermaid", "dot", "html"):
        out = tmp_path / f"lineage.{fmt}"
        exported = cli.invoke(
            main, ["lineage", "export", "--format", fmt, "--out", str(out), "--storage", str(ws.storage_folder)]
        )
        assert exported.exit_code == 0, exported.output
        text = out.read_text(encoding="utf-8")
        sinks[f"export {fmt}"] = text.replace(html_assets.JS, "").replace(html_assets.CSS, "")  # the page's own code
    shown = cli.invoke(main, ["lineage", "show", "--storage", str(ws.storage_folder)])
    assert shown.exit_code == 0 and REDACTED in shown.output
    sinks["lineage show"] = shown.output
    for path in (ws.storage_folder / "_dtflw").rglob("*"):
        if path.is_file():
            sinks[str(path.relative_to(ws.storage_folder))] = path.read_text(encoding="utf-8")
    sinks["webhook payloads"] = "\n".join(payloads)
    sinks["log records"] = "\n".join(r.getMessage() for r in caplog.records)
    assert len(payloads) == 2 and any(r.name == "dtflw.events" for r in caplog.records)

    values = [str(v) for v in CORPUS.values()] + [SECRET_ARG, SHORT_ARG]
    leaks = {(sink, v): n for sink, text in sinks.items() for v in values if (n := occurrences(text, v))}
    assert leaks == {}, f"secrets leaked: {leaks}"
    assert sum(text.count(REDACTED) for text in sinks.values()) > 40

    docs = [json.loads(p.read_text()) for p in (ws.storage_folder / "_dtflw" / "runs").iterdir()]
    runs = [r for d in docs for r in d["notebook_runs"]]
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert len(runs) == 4 and all(uuid.match(r["run_id"]) and uuid.match(r["flow_run_id"]) for r in runs)
    assert {r["notebook_path"] for r in runs} == {f"/Users/tester@example.com/etl/{n}" for n in ("write", "leak")}
    assert {o["path"] for r in runs for o in r["outputs"]} == {str(ws.storage_folder / "etl" / "write" / "T.parquet")}
    assert {r["exit_value"] for r in runs if r["rel_path"] == "write"} == {f"exit {REDACTED} {REDACTED}"}
    assert all(r["args"]["token"] == REDACTED and r["args"]["pin"] == REDACTED for r in runs)
    assert {r["args"].get("year") for r in runs} == {"2024", None}
    print(f"secret corpus: {len(values)} values x {len(sinks)} sinks, 0 occurrences")
