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

__all__ = ["dataset_rows", "datasets_of", "installed_tasks", "task_for_data"]


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


def task_for_data(*, task: str | None, data: Any = None, tasks: Iterable[Any] | None = None) -> Any:
    """The task that reads ``data`` (see the module docstring for the rule). ``tasks`` defaults to every
    installed one."""
    if task is not None:
        return plugins.registry("tasks").create(task)
    candidates = list(installed_tasks() if tasks is None else tasks)
    if not candidates:
        raise HarnessError("no task is installed: install a task plugin (`harness plugins`)")
    if isinstance(data, str) and not Path(data).exists():
        owners = [t for t in candidates if any(card.matches(data) for card in datasets_of(t))]
        if owners:
            return _one_format(owners, f"data set '{data}'")
    return _one_format(candidates, "the installed tasks")


def _one_format(tasks: list[Any], what: str) -> Any:
    formats: dict[str, list[str]] = {}
    for task in tasks:
        formats.setdefault(str(getattr(task, "data_format", "")), []).append(task.name)
    if len(formats) == 1:
        return tasks[0]
    listed = "; ".join(f"{fmt}: {', '.join(names)}" for fmt, names in formats.items())
    raise HarnessError(f"{what} read several record formats ({listed}): pass --task NAME to choose one")


def dataset_rows(tasks: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """The named data sets of every task (`Task.datasets`), once each, with the tasks that read them."""
    rows: dict[str, dict[str, Any]] = {}
    for task in installed_tasks() if tasks is None else tasks:
        for card in datasets_of(task):
            row = rows.setdefault(card.name, {**card.to_json(), "tasks": []})
            row["tasks"].append(task.name)
    return list(rows.values())
