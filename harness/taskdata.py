"""Which task owns a data set: the one rule `harness data`, `harness preprocess` and `harness list datasets` use.

    >>> from harness.taskdata import task_for_data
    >>> task = task_for_data(task=None, data="demo")          # doctest: +SKIP
    >>> task.write_demo(Path("demo"), cases=12, seed=0)       # doctest: +SKIP

The rule (`task_for_data`): ``--task NAME`` picks the task; else a named data set (``--data NAME``, or the
name ``demo`` for `harness data demo`) belongs to the tasks whose `Task.datasets` list it; else, when every
installed task reads one record format (`Task.data_format`), any of them reads the data; otherwise the
choice is one line asking for ``--task``. Tasks that share a format read the same data, so any of them will
do.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness import plugins
from harness.errors import HarnessError

__all__ = ["by_format", "dataset_rows", "datasets_of", "installed_tasks", "listing", "task_for_data", "tasks_reading"]


def installed_tasks() -> list[Any]:
    """One instance of every registered task that can be created, in registry order (a task that refuses
    to be created is left out here; naming it with ``--task`` shows its error)."""
    registry = plugins.registry("tasks")
    tasks = []
    for entry in registry:
        try:
            tasks.append(registry.create(entry.name))
        except HarnessError:
            continue
    return tasks


def datasets_of(task: Any) -> list[Any]:
    """The task's named data sets (`Task.datasets`; none for a task without the method)."""
    method = getattr(task, "datasets", None)
    return list(method()) if callable(method) else []


def by_format(tasks: Iterable[Any]) -> dict[str, list[Any]]:
    """The tasks grouped by `Task.data_format`, formats and tasks in the order given."""
    groups: dict[str, list[Any]] = {}
    for task in tasks:
        groups.setdefault(str(getattr(task, "data_format", "")), []).append(task)
    return groups


def listing(groups: dict[str, list[Any]], formats: Iterable[str] | None = None) -> str:
    """``fmt: task, task; fmt: task`` for error lines."""
    return "; ".join(f"{fmt}: {', '.join(t.name for t in groups[fmt])}" for fmt in (formats or groups))


def tasks_reading(data: Any, tasks: Iterable[Any], *, what: str = "--data") -> list[Any] | None:
    """The tasks of the one data format that reads ``data``: the format of the tasks whose `Task.datasets` name
    it (``data`` not a path here), else the only format installed; None when several formats could read it.
    Tasks of several formats naming the same data set is one error line."""
    groups = by_format(tasks)
    if isinstance(data, str) and not Path(data).expanduser().exists():
        naming = [fmt for fmt, members in groups.items()
                  if any(card.matches(data) for task in members for card in datasets_of(task))]
        if len(naming) > 1:
            raise HarnessError(f"{what}: data set '{data}' is named by tasks of several data formats "
                               f"({listing(groups, naming)}); pass --task to choose")
        if naming:
            return groups[naming[0]]
    return next(iter(groups.values())) if len(groups) == 1 else None


def task_for_data(*, task: str | None, data: Any = None, tasks: Iterable[Any] | None = None) -> Any:
    """The task that reads ``data`` (see the module docstring for the rule). ``tasks`` defaults to every
    installed one."""
    if task is not None:
        return plugins.registry("tasks").create(task)
    candidates = list(installed_tasks() if tasks is None else tasks)
    if not candidates:
        raise HarnessError("no task is installed: install a task plugin (`harness plugins`)")
    chosen = tasks_reading(data, candidates)
    if chosen is None:
        raise HarnessError(f"the installed tasks read several record formats ({listing(by_format(candidates))}): "
                           f"pass --task NAME to choose one")
    return chosen[0]


def dataset_rows(tasks: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """The named data sets of every task (`Task.datasets`), once each, with the tasks that read them."""
    rows: dict[str, dict[str, Any]] = {}
    for task in installed_tasks() if tasks is None else tasks:
        for card in datasets_of(task):
            row = rows.setdefault(card.name, {**card.to_json(), "tasks": []})
            row["tasks"].append(task.name)
    return list(rows.values())
