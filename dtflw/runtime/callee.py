"""The callee side: a notebook reads its args, inputs and outputs from widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from dtflw.core.widgets import INPUT_SUFFIX, OUTPUT_SUFFIX, job_widget_value
from dtflw.runtime import current_runtime

if TYPE_CHECKING:
    from dtflw.runtime import Runtime

_Arg = TypeVar("_Arg", bound="Argument")  # the class `create` is called on


class Argument:
    """A widget value of the running notebook: `init_args("year")["year"].value`."""

    NAME_SUFFIX = ""

    def __init__(self, name: str, value: str) -> None:
        if not name:
            raise ValueError("'name' cannot be None nor an empty string.")
        if type(value) is not str:
            raise ValueError("'value' cannot be None and must be a string.")
        self._name = name
        self._value = value

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> str:
        return self._value

    @property
    def has_value(self) -> bool:
        return True

    def __repr__(self) -> str:
        return self._value

    @classmethod
    def get_full_name(cls, name: str) -> str:
        return f"{name}{cls.NAME_SUFFIX}"

    @classmethod
    def _update_name_and_value(cls, widgets: Any, name: str, value: object) -> tuple[str, str]:
        widget = cls.get_full_name(name)
        widgets.text(widget, str(value), widget)
        return name, widgets.get(widget)

    @classmethod
    def _get_shared_values(cls, runtime: Runtime) -> dict[str, str]:
        """What a caller shared for this notebook (on a cluster, opened interactively after its flow ran)."""
        if runtime.is_local or runtime.shared_values is None:
            return {}
        shared: dict[str, str] = runtime.shared_values(cls._SHARED_KIND, runtime.notebook_path)
        return shared

    _SHARED_KIND = "args"

    @classmethod
    def create(cls: type[_Arg], *arguments: Any) -> dict[str, _Arg]:
        """`create("a", "b")` or `create({"a": default})`: read the widgets into a dict by name."""
        runtime = current_runtime()
        widgets = runtime.dbutils.widgets
        if len(arguments) == 1 and isinstance(arguments[0], dict):
            defaults = {name: str(value) for name, value in arguments[0].items()}
        else:
            if runtime.is_local:  # a cluster's dbutils does not tell what was passed
                from dtflw.core.widget_names import check_asked

                check_asked(runtime.notebook_path, widgets, cls.NAME_SUFFIX, arguments)
            defaults = {name: "" for name in arguments}
            defaults.update(cls._get_shared_values(runtime))
        values = {name: cls(*cls._update_name_and_value(widgets, name, value)) for name, value in defaults.items()}
        if (not runtime.is_local or runtime.run_id is None) and job_widget_value(widgets):  # an exported job's task
            from dtflw.runtime.task_lineage import record_start

            record_start(runtime)
        return values


class _Path(Argument):
    """A table path passed in a widget; it has a value when not empty."""

    @property
    def has_value(self) -> bool:
        return len(self._value) > 0


class Input(_Path):
    """An input path (widget `<name>_in`); empty when an optional input is missing."""

    NAME_SUFFIX = INPUT_SUFFIX
    _SHARED_KIND = "inputs"

    @classmethod
    def create(cls: type[_Arg], *arguments: Any) -> dict[str, _Arg]:
        """As `Argument.create`; in a job task, an optional input absent now is empty, as a flow passes it."""
        from dtflw.runtime.task_lineage import absent_optional_inputs

        values = super().create(*arguments)
        absent = absent_optional_inputs(current_runtime(), {n: v.value for n, v in values.items()})
        return {n: cls(n, "") if n in absent else v for n, v in values.items()}


class Output(_Path):
    """An output path (widget `<name>_out`)."""

    NAME_SUFFIX = OUTPUT_SUFFIX
    _SHARED_KIND = "outputs"
