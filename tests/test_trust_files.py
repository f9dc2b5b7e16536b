"""Issue 18, point 6: hostile pipeline and AEF files. A billion laughs of aliases, a structure that contains
itself, nesting thousands deep and bytes that are not UTF-8 each give a typed, short error naming the file —
and any bytes or YAML text at all give a pipeline or a `DtflwError`, never another exception."""

from __future__ import annotations

import json
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtflw.errors import DtflwError, PipelineFileError
from dtflw.pipeline_files.aef import import_aef
from dtflw.pipeline_files.loading import load_pipeline


def billion_laughs(levels: int = 9) -> str:
    """The classic attack: each anchor repeats the one before nine times (9**9 values from 1 KB)."""
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for n in range(1, levels):
        text += f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n"
    return text + f"steps:\n  - notebook: x\n    args: {{laughs: *l{levels - 1}}}\n"


def refusal(path) -> str:
    with pytest.raises(PipelineFileError) as refused:
        load_pipeline(str(path))
    return str(refused.value)


@pytest.mark.timeout(30)  # on a loader that expands aliases, this runs for hours and takes all memory
def test_a_billion_laughs_is_refused_at_the_alias_that_goes_past_the_bound(tmp_path):
    path = tmp_path / "laughs.yml"
    path.write_text(billion_laughs())
    message = refusal(path)
    assert f"{path}:" in message and "aliases" in message
    assert len(message.encode()) < 2048


@pytest.mark.timeout(30)
def test_merge_keys_cannot_multiply_either(tmp_path):
    text = "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}\n"
    for n in range(1, 9):
        text += f"m{n}: &m{n} [" + ", ".join([f"{{<<: *m{n - 1}}}"] * 9) + "]\n"
    text = text.replace("{<<: *m0}", "*m0")
    path = tmp_path / "merges.yml"
    path.write_text(text + "steps: [{notebook: x}]\n")
    assert "aliases" in refusal(path)


def test_a_file_that_contains_itself_is_refused(tmp_path):
    path = tmp_path / "loop.yml"
    path.write_text("steps:\n  - &step {notebook: x, args: {again: *step}}\n")
    message = refusal(path)
    assert f"{path}:2:" in message and "*step is inside its own anchor" in message


@pytest.mark.parametrize(
    "name, text",
    [
        ("deep.yml", "steps: " + "[" * 50_000 + "]" * 50_000),
        ("deep_block.yml", "steps:\n" + "".join(" " * n + "- \n" for n in range(0, 4000, 2))),
        ("deep.json", '{"steps": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        ("deep_but_parsable.json", '{"steps": ' + "[" * 500 + "]" * 500 + "}"),
    ],
)
def test_nesting_thousands_deep_is_a_typed_error_not_a_recursion_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    message = refusal(path)
    assert "nested more than" in message and str(path) in message


@pytest.mark.parametrize("name", ["pipeline.yml", "pipeline.json"])
def test_a_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b'{"steps": [\n  {"notebook": "caf\xe9"}]}\n')  # Latin-1, as a Windows editor saves it
    message = refusal(path)
    assert str(path) in message and "not UTF-8" in message and "offset 31" in message and "line 2" in message


def test_an_aef_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path):
    path = tmp_path / "aef.json"
    path.write_bytes(b'{"definition": [{"THREADS": [{"STEPS": [{"JOB_NAME": "\xff"}]}]}]}')
    with pytest.raises(PipelineFileError, match=r"aef\.json.*not UTF-8.*0xff at offset 54"):
        import_aef(str(path))


@pytest.mark.parametrize(
    "text, wanted",
    [
        (
            "steps: [{notebook: x}]\n1: one\n",
            r":2: top level: a key must be text, and YAML reads '1' as a number; quote it",
        ),
        (
            "steps:\n  - notebook: x\n    args: {on: 1}\n",
            r":3: steps\[0\]\.args: a key must be text, and YAML reads 'on' as true or false",
        ),
        ("steps: [{notebook: x}]\nwhen: 2024-13-45\n", r"not valid YAML: month must be in 1\.\.12"),
        ("steps: [{notebook: !!python/object/apply:os.system [ls]}]\n", r":1: not valid YAML: could not determine"),
        ("steps: [{notebook: x}]\n? [a, b]\n: c\n", r":2: not valid YAML: found unhashable key"),
        ("steps: [{notebook: x}]\nbig: " + "9" * 5000 + "\n", r"not valid YAML: Exceeds the limit"),
    ],
)
def test_values_yaml_cannot_make_are_problems_of_the_file(tmp_path, text, wanted):
    path = tmp_path / "odd.yml"
    path.write_text(text)
    with pytest.raises(PipelineFileError, match=wanted):
        load_pipeline(str(path))


@pytest.mark.parametrize(
    "text, wanted",
    [
        ('{"steps": [{"notebook": "x"}], "big": ' + "9" * 5000 + "}", r"not valid JSON: Exceeds the limit"),
        ('{"steps": [{"notebook": "x"}], "x": [' + ", ".join(["0"] * 100_001) + "]}", r":1: not valid JSON: more than"),
    ],
)
def test_json_values_past_the_bounds(tmp_path, text, wanted):
    path = tmp_path / "odd.json"
    path.write_text(text)
    with pytest.raises(PipelineFileError, match=wanted):
        load_pipeline(str(path))


def test_a_huge_value_is_shown_short(tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text(f"steps: {'x' * 100_000}\nworkers: [{', '.join(['1'] * 10_000)}]\n")
    assert len(refusal(path).encode()) < 2048


def test_aef_step_properties_nested_past_the_stack_and_odd_timeouts(tmp_path):
    path = tmp_path / "aef.json"
    step = {"JOB_NAME": "a", "STEP_PROPERTIES": "[" * 100_000, "ASYNC_TIMEOUT_LOOP_IN_MINUTES": "²"}
    path.write_text(json.dumps({"definition": [{"THREADS": [{"STEPS": [step]}]}]}))
    with pytest.raises(PipelineFileError, match=r"aef\.json:1: definition\[0\].*STEP_PROPERTIES: not a JSON object"):
        import_aef(str(path))
    step["STEP_PROPERTIES"] = {"when": "x"}
    path.write_text(json.dumps({"definition": [{"THREADS": [{"STEPS": [step]}]}]}))
    assert "timeout" not in import_aef(str(path))["steps"][0]  # '²' is a digit, not a number of minutes


# -- any input at all: a pipeline, or a DtflwError ----------------------------------------------
_WORDS = st.sampled_from(["steps", "notebook", "name", "args", "inputs", "outputs", "after", "params", "x", "<<"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.sampled_from(["2024-13-45", "~"])
)
_DOCUMENTS = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_WORDS, inner, max_size=4), max_leaves=20
)
_YAML_TEXT = st.text(alphabet=string.printable + "&*!%@`|>-?:[]{}é\x00\ufeff", max_size=200)
_BYTES = st.binary(max_size=200)


def _loads_or_refuses(path) -> None:
    try:
        load_pipeline(str(path))
    except DtflwError:
        pass  # a typed refusal is the other acceptable outcome


def _imports_or_refuses(path) -> None:
    try:
        import_aef(str(path))
    except DtflwError:
        pass


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(content=_BYTES | _YAML_TEXT.map(str.encode), suffix=st.sampled_from([".yml", ".json"]))
def test_any_bytes_give_a_pipeline_or_a_typed_error(tmp_path, content, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    _loads_or_refuses(path)
    _imports_or_refuses(path)


@_FUZZ
@given(document=_DOCUMENTS, anchors=st.booleans())
def test_any_yaml_document_gives_a_pipeline_or_a_typed_error(tmp_path, document, anchors):
    text = yaml.safe_dump({"steps": [{"notebook": "x"}], "x": document}, allow_unicode=True)
    if anchors:  # the same content through anchors, aliases and merges
        text = "base: &b {notebook: y}\n" + text.replace("notebook: x", "<<: *b")
    path = tmp_path / "fuzz.yml"
    path.write_text(text)
    _loads_or_refuses(path)
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _loads_or_refuses(path)
    _imports_or_refuses(path)


@_FUZZ
@given(definition=_DOCUMENTS)
def test_any_aef_shape_gives_a_pipeline_or_a_typed_error(tmp_path, definition):
    path = tmp_path / "aef.yml"
    steps = [{"JOB_NAME": "a", "JOB_ID": definition, "STEP_PROPERTIES": definition}]
    for document in ({"definition": definition}, {"definition": [{"THREADS": [{"STEPS": steps}]}]}):
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        _imports_or_refuses(path)
