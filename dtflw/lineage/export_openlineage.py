"""The lineage graph as OpenLineage (spec 2-0-2) RunEvents: a file of events, or sent with openlineage-python.

Per notebook run: START with its inputs and declared outputs; then COMPLETE with the outputs'
`schema` and `outputStatistics`, FAIL with `errorMessage`, or — for a run skipped because its
outputs were up to date — ABORT, the reason in the `tags` run facet. A run still `running` has
only its START. Every notebook run carries `parent` (its flow run) and `executionParameters`
(its args, secrets redacted); its job is `(job_namespace, <notebook workspace path>)` with the
`jobType` facet (integration `DTFLW`, jobType `NOTEBOOK`). Each flow run is a run of its own
job (jobType `FLOW`): START, then COMPLETE or FAIL; a nested flow's parent is the notebook run
that opened it, and `root` always names the outermost flow run.

Datasets are named per the OpenLineage naming spec: `abfss://{container}@{account}.dfs.core.windows.net`
and `wasbs://{container}@{account}.dfs.core.windows.net` with the object path, `dbfs://{workspace}`
(or `dbfs` when the workspace is not given) for `dbfs:/` and `/Volumes/` paths, `file` for local
paths, `{scheme}://{bucket}` for other object stores.

Events are written as spec JSON (fast enough for 10,000 notebooks); `emit` turns each into
openlineage-python's `RunEvent` and sends it through an `OpenLineageClient` — by default one
configured the standard way (`OPENLINEAGE_URL`, `openlineage.yml`, `OPENLINEAGE__TRANSPORT__*`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from dtflw.errors import LineageEmitError
from dtflw.events import FlowRun, NotebookRun, RunStatus
from dtflw.gc_pause import paused_gc
from dtflw.lineage.graph import Edge, LineageGraph
from dtflw.lineage.labels import iso_time
from dtflw.storage.tables import TABLE_PREFIX
from dtflw.version import __version__

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.facet_v2 import BaseFacet, parent_run

PRODUCER = f"https://pypi.org/project/dtflw/{__version__}/"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_PRODUCER_JSON = orjson.dumps(PRODUCER)
_RUN_EVENT_SCHEMA = RUN_EVENT_SCHEMA.encode()
INTEGRATION = "DTFLW"
DEFAULT_JOB_NAMESPACE = "dtflw"
_FACETS = "https://openlineage.io/spec/facets/"
SCHEMA_URLS = {
    "parent": _FACETS + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "executionParameters": _FACETS + "1-0-0/ExecutionParametersRunFacet.json#/$defs/ExecutionParametersRunFacet",
    "errorMessage": _FACETS + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "tags": _FACETS + "1-0-0/TagsRunFacet.json#/$defs/TagsRunFacet",
    "processing_engine": _FACETS + "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
    "jobType": _FACETS + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "schema": _FACETS + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "outputStatistics": _FACETS
    + "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
    "dataQualityAssertions": _FACETS
    + "1-0-1/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
}
_AZURE = re.compile(r"^(?P<scheme>abfss|wasbs)://(?P<container>[^@/]+)@(?P<account>[^./]+)\.[^/]*/?(?P<path>.*)$")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/]*)/?(?P<path>.*)$")
_END_EVENT = {
    RunStatus.SUCCEEDED: "COMPLETE",
    RunStatus.FAILED: "FAIL",
    RunStatus.SKIPPED: "ABORT",
    RunStatus.CANCELLED: "ABORT",
}


class EventClient(Protocol):
    """What sends the events: openlineage-python's `OpenLineageClient`, or anything with its `emit`."""

    def emit(self, event: RunEvent) -> object: ...


def dataset_name(path: str, dbfs_workspace: str | None = None) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a table path (a Unity Catalog table: `unitycatalog://<host>`)."""
    if path.startswith(TABLE_PREFIX):
        return f"unitycatalog://{dbfs_workspace or 'localhost'}", path[len(TABLE_PREFIX) :]
    if path.startswith(("dbfs:", "/Volumes/")):
        return _dbfs_namespace(dbfs_workspace), "/" + path.removeprefix("dbfs:").lstrip("/")
    if path.startswith(("/", "file:")):
        return "file", "/" + re.sub(r"^file:(//)?", "", path).lstrip("/")
    azure = _AZURE.match(path)
    if azure:
        namespace = _azure_namespace(azure["scheme"], azure["container"], azure["account"])
        return namespace, azure["path"].rstrip("/") or "/"
    url = _URL.match(path)
    if url:
        return f"{url['scheme']}://{url['authority']}", url["path"] or "/"
    return "file", path


@lru_cache(maxsize=256)
def _azure_namespace(scheme: str, container: str, account: str) -> str:
    from openlineage.client.naming import dataset as naming

    if scheme == "abfss":
        return naming.ABFSS(container=container, service=account, path="/").get_namespace()
    return naming.WASBS(container=container, service_name=account, object_key="/").get_namespace()


@lru_cache(maxsize=16)
def _dbfs_namespace(workspace: str | None) -> str:
    from openlineage.client.naming import dataset as naming

    return naming.DBFS(workspace=workspace, path="/").get_namespace() if workspace else "dbfs"


def run_events(
    graph: LineageGraph, job_namespace: str = DEFAULT_JOB_NAMESPACE, dbfs_workspace: str | None = None
) -> list[dict[str, Any]]:
    """Every RunEvent of the graph's flow and notebook runs, as spec JSON, in time order."""
    with paused_gc():
        return [orjson.loads(line) for line in _Writer(graph, job_namespace, dbfs_workspace).lines()]


def render(graph: LineageGraph, job_namespace: str = DEFAULT_JOB_NAMESPACE, dbfs_workspace: str | None = None) -> str:
    """The events as JSON lines (one event per line, like openlineage-python's file transport)."""
    with paused_gc():
        return b"".join(_Writer(graph, job_namespace, dbfs_workspace).lines()).decode()


def emit(
    graph: LineageGraph,
    client: EventClient | None = None,
    job_namespace: str = DEFAULT_JOB_NAMESPACE,
    dbfs_workspace: str | None = None,
) -> int:
    """Send every event through `client` (default: `OpenLineageClient()`, configured the standard way).

    Returns the number of events sent; `LineageEmitError` names the event the transport refused.
    """
    from openlineage.client import OpenLineageClient

    client = client if client is not None else OpenLineageClient()
    events = run_events(graph, job_namespace, dbfs_workspace)
    for event in events:
        client_event = to_client_event(event)
        try:
            client.emit(client_event)
        except Exception as e:
            raise LineageEmitError(
                f"OpenLineage transport {getattr(getattr(client, 'transport', None), 'kind', '?')!r} refused the {event['eventType']} "
                f"event of job {event['job']['name']!r} (run {event['run']['runId']}): {type(e).__name__}: {e}. "
                "Check the transport configuration (OPENLINEAGE_URL, openlineage.yml) and that the backend is up."
            ) from e
    return len(events)


class _Writer:
    """Writes each event as one line of JSON, in time order.

    What events share is serialised once: a dataset version (its namespace, name and schema), a
    job, and the facets a run's START and end event both carry. Each line is then put together
    from those pieces, which keeps 10,000 notebooks within a second.
    """

    def __init__(self, graph: LineageGraph, job_namespace: str, dbfs_workspace: str | None) -> None:
        self.graph = graph
        self.namespace = job_namespace
        self.dbfs_workspace = dbfs_workspace
        self._datasets: dict[tuple[str, str | None], bytes] = {}  # (path, fingerprint) -> '{..."facets":{..}}'
        self._jobs: dict[tuple[str, str], bytes] = {}
        self._parents: dict[str, dict[str, object]] = {}
        self._roots: dict[str, FlowRun] = {}
        # run id -> (run facets, inputs, declared outputs) until its end
        self._started: dict[str, tuple[bytes, bytes, list[tuple[Edge, bytes]]]] = {}
        self._engine = orjson.dumps(_facet("processing_engine", version=__version__, name="dtflw"))
        self._runs_of_flow: dict[str, list[NotebookRun]] = {}
        for run in graph.runs.values():
            self._runs_of_flow.setdefault(run.flow_run_id, []).append(run)

    def lines(self) -> Iterator[bytes]:
        """Each event as a line, in time order (at equal times a flow starts before and ends after its runs)."""
        # (time, rank at equal times, order, write, subject)
        plan: list[tuple[float, int, int, Callable[[Any], bytes], Any]] = []
        for flow in self.graph.flows.values():
            plan.append((flow.started, 0, len(plan), self._flow_start, flow))
            status, ended = _flow_outcome(flow, self._runs_of_flow.get(flow.run_id, []))
            if status is not None:
                plan.append((ended, 2, len(plan), self._flow_end, (flow, status, ended)))
        for run in self.graph.runs.values():
            plan.append((run.started, 1, len(plan), self._run_start, run))
            if run.status != RunStatus.RUNNING:
                plan.append((max(run.ended or run.started, run.started), 1, len(plan), self._run_end, run))
        plan.sort(key=lambda step: step[:3])
        for step in plan:
            yield step[3](step[4])

    # -- notebook runs ------------------------------------------------------------------------
    def _run_start(self, run: NotebookRun) -> bytes:
        facets: dict[str, dict[str, object]] = {}
        flow = self.graph.flows.get(run.flow_run_id)
        if flow is not None:
            facets["parent"] = self._parent(flow.run_id, self._flow_job_name(flow), self._root(flow))
        if run.args:
            parameters = [{"key": k, "value": v} for k, v in run.args.items()]
            facets["executionParameters"] = _facet("executionParameters", parameters=parameters)
        tags = [{"key": t, "value": "true", "source": "USER"} for t in run.tags]
        if run.attempt != 1:
            tags.append({"key": "dtflw.attempt", "value": str(run.attempt), "source": INTEGRATION})
        if run.status == RunStatus.SKIPPED:
            tags.append({"key": "dtflw.skipped", "value": run.reason or "skipped", "source": INTEGRATION})
        if tags:
            facets["tags"] = _facet("tags", tags=tags)
        shared = orjson.dumps(facets)[1:-1]
        inputs = b",".join(self._dataset(e) + b"}" for e in self.graph.inputs_of(run.run_id))
        declared = [(e, self._dataset(e)) for e in self.graph.outputs_of(run.run_id)]
        if run.status != RunStatus.RUNNING:
            self._started[run.run_id] = (shared, inputs, declared)
        outputs = b",".join(dataset + b"}" for _, dataset in declared)
        run_facets = _joined(shared, b'"processing_engine":' + self._engine)
        return self._line(
            "START", run.started, run.run_id, run_facets, self._job(run.notebook_path, "NOTEBOOK"), inputs, outputs
        )

    def _run_end(self, run: NotebookRun) -> bytes:
        facets, inputs, declared = self._started.pop(run.run_id)
        outputs = b""
        if run.status == RunStatus.SUCCEEDED:
            outputs = b",".join(dataset + self._statistics(e, run) for e, dataset in declared)
        elif run.status == RunStatus.FAILED:  # a table that failed its expectations was written: say how
            checked = {r.table for r in run.expectations}
            outputs = b",".join(dataset + self._assertions(e, run) for e, dataset in declared if e.use.name in checked)
            error = _facet("errorMessage", message=run.error or "the notebook failed", programmingLanguage="python")
            facets = _joined(facets, b'"errorMessage":' + orjson.dumps(error))
        ended = max(run.ended or run.started, run.started)
        job = self._job(run.notebook_path, "NOTEBOOK")
        return self._line(_END_EVENT[run.status], ended, run.run_id, facets, job, inputs, outputs)

    # -- flow runs ----------------------------------------------------------------------------
    def _flow_facets(self, flow: FlowRun) -> dict[str, dict[str, object]]:
        opener = self.graph.runs.get(flow.parent_run_id) if flow.parent_run_id else None
        if opener is None:
            return {}
        return {"parent": self._parent(opener.run_id, opener.notebook_path, self._root(flow))}

    def _flow_start(self, flow: FlowRun) -> bytes:
        facets = _joined(orjson.dumps(self._flow_facets(flow))[1:-1], b'"processing_engine":' + self._engine)
        return self._line(
            "START", flow.started, flow.run_id, facets, self._job(self._flow_job_name(flow), "FLOW"), b"", b""
        )

    def _flow_end(self, outcome: tuple[FlowRun, RunStatus, float]) -> bytes:
        flow, status, ended = outcome
        facets = self._flow_facets(flow)
        if status == RunStatus.FAILED:
            failed = [r for r in self._runs_of_flow.get(flow.run_id, []) if r.status == RunStatus.FAILED]
            message = f"{failed[-1].notebook_path}: {failed[-1].error}" if failed else "the flow failed"
            facets["errorMessage"] = _facet("errorMessage", message=message, programmingLanguage="python")
        job = self._job(self._flow_job_name(flow), "FLOW")
        return self._line(_END_EVENT[status], ended, flow.run_id, orjson.dumps(facets)[1:-1], job, b"", b"")

    def _flow_job_name(self, flow: FlowRun) -> str:
        return flow.notebook_path or f"flow/{flow.run_id}"

    def _root(self, flow: FlowRun) -> FlowRun:
        root = self._roots.get(flow.run_id)
        if root is None:
            root, seen = flow, {flow.run_id}
            while root.parent_run_id:
                opener = self.graph.runs.get(root.parent_run_id)
                outer = self.graph.flows.get(opener.flow_run_id) if opener is not None else None
                if outer is None or outer.run_id in seen:
                    break
                root = outer
                seen.add(root.run_id)
            self._roots[flow.run_id] = root
        return root

    # -- pieces -------------------------------------------------------------------------------
    def _line(
        self, kind: str, when: float, run_id: str, facets: bytes, job: bytes, inputs: bytes, outputs: bytes
    ) -> bytes:
        return (
            b'{"eventType":"%s","eventTime":"%s","producer":%s,"schemaURL":"%s","run":{"runId":"%s","facets":{%s}},'
            b'"job":%s,"inputs":[%s],"outputs":[%s]}\n'
            % (kind.encode(), iso_time(when).encode(), _PRODUCER_JSON, _RUN_EVENT_SCHEMA, _uuid(run_id).encode(),
               facets, job, inputs, outputs)
        )  # fmt: skip

    def _job(self, name: str, job_type: str) -> bytes:
        job = self._jobs.get((name, job_type))
        if job is None:
            job_facet = _facet("jobType", processingType="BATCH", integration=INTEGRATION, jobType=job_type)
            job = orjson.dumps({"namespace": self.namespace, "name": name, "facets": {"jobType": job_facet}})
            self._jobs[(name, job_type)] = job
        return job

    def _parent(self, run_id: str, job_name: str, root: FlowRun) -> dict[str, object]:
        parent = self._parents.get(run_id)
        if parent is None:
            parent = self._parents[run_id] = _facet(
                "parent",
                run={"runId": _uuid(run_id)},
                job={"namespace": self.namespace, "name": job_name},
                root={
                    "run": {"runId": _uuid(root.run_id)},
                    "job": {"namespace": self.namespace, "name": self._flow_job_name(root)},
                },
            )
        return parent

    def _dataset(self, edge: Edge) -> bytes:
        """The dataset of an edge's table version, less its closing brace (so output facets can follow)."""
        state = edge.use.state
        key = (edge.table, state.fingerprint if state is not None else None)
        dataset = self._datasets.get(key)
        if dataset is None:
            namespace, name = dataset_name(edge.table, self.dbfs_workspace)
            facets: dict[str, dict[str, object]] = {}
            if edge.use.schema is not None:
                facets["schema"] = _facet("schema", fields=[{"name": n, "type": t} for n, t in edge.use.schema])
            dataset = orjson.dumps({"namespace": namespace, "name": name, "facets": facets})[:-1]
            self._datasets[key] = dataset
        return dataset

    def _statistics(self, edge: Edge, run: NotebookRun) -> bytes:
        """`,"outputFacets":{...}}` closing an output dataset: what the run wrote, and its expectations."""
        state = edge.use.state
        if state is None or not state.exists:
            return b"}"
        stats = {"size": state.size_bytes, "fileCount": state.file_count}
        if edge.use.row_count is not None:
            stats["rowCount"] = edge.use.row_count
        facets = {"outputStatistics": _facet("outputStatistics", **stats), **_quality(edge, run)}
        return b',"outputFacets":%s}' % orjson.dumps(facets)

    def _assertions(self, edge: Edge, run: NotebookRun) -> bytes:
        """`,"outputFacets":{"dataQualityAssertions":...}}` of a table a failed run wrote."""
        return b',"outputFacets":%s}' % orjson.dumps(_quality(edge, run))


def _quality(edge: Edge, run: NotebookRun) -> dict[str, dict[str, object]]:
    """The `dataQualityAssertions` facet of an output's expectations (none: {}); a `unique` rule of one column
    names it."""
    results = [r for r in run.expectations if r.table == edge.use.name]
    if not results:
        return {}
    assertions = []
    for r in results:
        assertion: dict[str, object] = {"assertion": r.name, "success": r.ok}
        if r.rule == "unique" and r.expression.count(",") == 0:
            assertion["column"] = r.expression[len("unique(") : -1]
        assertions.append(assertion)
    return {"dataQualityAssertions": _facet("dataQualityAssertions", assertions=assertions)}


def _flow_outcome(flow: FlowRun, runs: list[NotebookRun]) -> tuple[RunStatus | None, float]:
    """How a flow run ended (None: not yet), and when; a flow never told to end ends with its last run."""
    last = max((r.ended or r.started for r in runs), default=flow.started)
    if flow.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        return flow.status, flow.ended if flow.ended is not None else last
    if any(r.status == RunStatus.RUNNING for r in runs):
        return None, last
    failed = any(r.status == RunStatus.FAILED for r in runs)
    return (RunStatus.FAILED if failed else RunStatus.SUCCEEDED), flow.ended if flow.ended is not None else last


def _joined(*members: bytes) -> bytes:
    """JSON object members (`"key":value`) joined by commas, the empty ones left out."""
    return b",".join(m for m in members if m)


def _facet(key: str, **fields: object) -> dict[str, object]:
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_URLS[key], **fields}


@lru_cache(maxsize=65536)
def _uuid(run_id: str) -> str:
    """A run id as OpenLineage requires (a UUID); ids that are not UUIDs map to a stable UUIDv5."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "dtflw:" + run_id))


# -- openlineage-python objects ---------------------------------------------------------------
def to_client_event(event: dict[str, Any]) -> RunEvent:
    """An event built by `run_events` as openlineage-python's `RunEvent`."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    return RunEvent(
        eventType=RunState(event["eventType"]),
        eventTime=event["eventTime"],
        producer=event["producer"],
        run=Run(runId=event["run"]["runId"], facets=_client_facets(event["run"]["facets"])),
        job=Job(
            namespace=event["job"]["namespace"],
            name=event["job"]["name"],
            facets=_client_facets(event["job"]["facets"]),
        ),
        inputs=[
            InputDataset(namespace=d["namespace"], name=d["name"], facets=_client_facets(d["facets"]))
            for d in event["inputs"]
        ],
        outputs=[
            OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=_client_facets(d["facets"]),
                outputFacets=_client_facets(d.get("outputFacets", {})),
            )
            for d in event["outputs"]
        ],
    )


def _parent_facet(f: dict[str, Any]) -> parent_run.ParentRunFacet:
    from openlineage.client.facet_v2 import parent_run

    root = f.get("root")
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=f["run"]["runId"]),
        job=parent_run.Job(namespace=f["job"]["namespace"], name=f["job"]["name"]),
        root=None
        if root is None
        else parent_run.Root(
            run=parent_run.RootRun(runId=root["run"]["runId"]),
            job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
        ),
        producer=f["_producer"],
    )


def _client_facets(facets: dict[str, Any]) -> dict[str, Any]:
    """openlineage-python's facets of a run, job, dataset or output dataset (Any: each of those takes its own
    facet class, and its `DataQualityAssertionsDatasetFacet`, an input facet there, is an output facet here)."""
    from openlineage.client.facet_v2 import (
        data_quality_assertions_dataset,
        error_message_run,
        execution_parameters_run,
        job_type_job,
        output_statistics_output_dataset,
        processing_engine_run,
        schema_dataset,
        tags_run,
    )

    builders: dict[str, Callable[[dict[str, Any]], BaseFacet]] = {
        "parent": _parent_facet,
        "executionParameters": lambda f: execution_parameters_run.ExecutionParametersRunFacet(
            parameters=[
                execution_parameters_run.ExecutionParameter(key=p["key"], value=p["value"]) for p in f["parameters"]
            ],
            producer=f["_producer"],
        ),
        "errorMessage": lambda f: error_message_run.ErrorMessageRunFacet(
            message=f["message"], programmingLanguage=f["programmingLanguage"], producer=f["_producer"]
        ),
        "tags": lambda f: tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields(key=t["key"], value=t["value"], source=t.get("source")) for t in f["tags"]
            ],
            producer=f["_producer"],
        ),
        "processing_engine": lambda f: processing_engine_run.ProcessingEngineRunFacet(
            version=f["version"], name=f.get("name"), producer=f["_producer"]
        ),
        "jobType": lambda f: job_type_job.JobTypeJobFacet(
            processingType=f["processingType"],
            integration=f["integration"],
            jobType=f.get("jobType"),
            producer=f["_producer"],
        ),
        "schema": lambda f: schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=c.get("type")) for c in f["fields"]],
            producer=f["_producer"],
        ),
        "outputStatistics": lambda f: output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=f.get("rowCount"), size=f.get("size"), fileCount=f.get("fileCount"), producer=f["_producer"]
        ),
        "dataQualityAssertions": lambda f: data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=[
                data_quality_assertions_dataset.Assertion(
                    assertion=a["assertion"], success=a["success"], column=a.get("column")
                )
                for a in f["assertions"]
            ],
            producer=f["_producer"],
        ),
    }
    return {key: builders[key](value) for key, value in facets.items()}
