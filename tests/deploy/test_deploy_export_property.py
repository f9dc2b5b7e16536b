"""Property: any exported job settings load into databricks-sdk's JobSettings and come back unchanged."""

from __future__ import annotations

import re

from databricks.sdk.service.jobs import JobSettings
from hypothesis import given, settings
from hypothesis import strategies as st

from dtflw.deploy.export import Compute, job_settings
from dtflw.deploy.tasks import DeployTask, _task_keys

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
tag = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def flows(draw):
    count = draw(st.integers(1, 12))
    tasks = []
    for index in range(count):
        depends = draw(st.lists(st.integers(0, index - 1), unique=True)) if index else []
        retries = draw(st.integers(0, 20))
        tasks.append(
            DeployTask(
                key=f"step_{index}",
                notebook_path=f"/Users/u@x.com/p/{draw(tag)}",
                parameters=draw(st.dictionaries(tag, text, max_size=5)),
                depends_on=[f"step_{d}" for d in depends],
                max_retries=retries,
                retry_interval_millis=draw(st.integers(0, 3_600_000)) if retries else 0,
                timeout_seconds=draw(st.integers(0, 86_400)),
                tags=tuple(draw(st.lists(tag, unique=True, max_size=2))),
            )
        )
    return tasks


computes = st.one_of(
    st.just(Compute()),
    st.builds(Compute, existing_cluster_id=tag),
    st.builds(Compute, new_cluster=st.fixed_dictionaries({"spark_version": tag, "num_workers": st.integers(0, 8)})),
)


@settings(max_examples=150, deadline=None)
@given(tasks=flows(), compute=computes, name=text.filter(bool), job_tags=st.dictionaries(tag, text, max_size=3))
def test_export_then_from_dict_then_as_dict_is_stable(tasks, compute, name, job_tags):
    exported = job_settings(tasks, name, compute, job_tags)
    loaded = JobSettings.from_dict(exported)
    assert loaded.as_dict() == exported
    assert JobSettings.from_dict(loaded.as_dict()) == loaded
    assert job_settings(tasks, name, compute, job_tags) == exported
    assert [t["task_key"] for t in exported["tasks"]] == [t.key for t in tasks]


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.text(max_size=120), min_size=1, max_size=30))
def test_task_keys_are_unique_valid_and_at_most_100_characters(names):
    keys = _task_keys(names)
    assert len(keys) == len(names) == len(set(keys))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,100}", key) for key in keys)
