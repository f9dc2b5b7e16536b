"""Offline validation of OpenLineage events against the spec 2-0-2 schemas in shared/reference/openlineage."""

from __future__ import annotations

import glob
import json
import os
import uuid
from datetime import datetime
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry, Resource

SPEC_DIRS = (
    "/work/shared/reference/openlineage",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "openlineage"),
)
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def spec_dir() -> str | None:
    return next((d for d in SPEC_DIRS if os.path.exists(os.path.join(d, "OpenLineage.json"))), None)


class SpecValidator:
    """Validates an event against the core schema and each facet against its own schema, without network."""

    def __init__(self, folder: str):
        resources = []
        for path in glob.glob(os.path.join(folder, "*.json")):
            with open(path) as f:
                schema = json.load(f)
            resources.append((schema["$id"], Resource.from_contents(schema)))
        core = next((r for uri, r in resources if uri.endswith("/2-0-2/OpenLineage.json")), None)
        if core is not None:  # older facet schemas (DataQualityAssertions: 1-0-1) refer to an older core, whose
            # base facets 2-0-2 keeps: validate them against the core we have
            resources += [(f"https://openlineage.io/spec/{v}/OpenLineage.json", core) for v in ("1-0-1", "1-0-2")]
        self.ids = {uri for uri, _ in resources}
        self.registry = Registry().with_resources(resources)
        self.formats = jsonschema.FormatChecker()
        self.formats.checks("date-time", raises=ValueError)(lambda v: datetime.fromisoformat(v) and "T" in v)
        self.formats.checks("uuid", raises=ValueError)(lambda v: uuid.UUID(v) is not None)
        self.formats.checks("uri", raises=ValueError)(lambda v: bool(urlsplit(v).scheme))

    def errors(self, event: dict) -> list[str]:
        found = [e.message for e in self._validator(RUN_EVENT).iter_errors(event)]
        for facet in _facets(event):
            url = facet.get("_schemaURL", "")
            if url.split("#")[0] not in self.ids:
                found.append(f"facet schema {url!r} is not one of the 2-0-2 reference schemas")
                continue
            found += [f"{url}: {e.message}" for e in self._validator(url).iter_errors(facet)]
        return found

    def _validator(self, ref: str):
        return jsonschema.Draft202012Validator({"$ref": ref}, registry=self.registry, format_checker=self.formats)


def _facets(event: dict):
    yield from event["run"].get("facets", {}).values()
    yield from event["job"].get("facets", {}).values()
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        yield from dataset.get("facets", {}).values()
        yield from dataset.get("outputFacets", {}).values()
