"""Selecting steps over the plans of an orchestration notebook's flows (what `dtflw run --select` uses)."""

from __future__ import annotations

import pytest
from testkit import RecordingRunner

from dtflw import init_flow
from dtflw.errors import SelectionError
from dtflw.run.selection import Selection
from dtflw.storage.base import FolderStorage


@pytest.fixture
def two_flows(tmp_path, runtime_at):
    with runtime_at("/Users/u@x/p/main", runner=RecordingRunner()):
        first, second = init_flow(FolderStorage(str(tmp_path / "one"))), init_flow(FolderStorage(str(tmp_path / "two")))
        load, report = first.notebook("load").output("L"), first.notebook("report").input("L").output("R")
        notify_before, notify_after = first.notebook("notify"), first.notebook("notify")
        report >> notify_after
        steps = [load, notify_before, report, notify_after]
        first_dag, second_dag = first.dag(), second.dag()
        for nb in steps:
            first_dag.add(nb)
        other = second.notebook("other").output("O")
        second_dag.add(other)
        yield [first_dag.plan(), second_dag.plan()], steps + [other]


def test_a_selection_tells_repeated_calls_apart_and_spans_flows(two_flows):
    plans, declared = two_flows
    selection = Selection(plans, "report+ other", None)
    assert [selection.includes(nb) for nb in declared] == [False, False, True, True, True]
    selection = Selection(plans, None, "notify")
    assert [selection.includes(nb) for nb in declared] == [True, False, True, False, True]


def test_a_term_must_match_a_step_of_some_flow(two_flows):
    plans, _ = two_flows
    with pytest.raises(SelectionError, match="'nothing' in 'other nothing' matches no notebook or table"):
        Selection(plans, "other nothing", None)
