"""Which tasks a fine-tuning run trains, and the cases they read (``--task`` and ``--data``).

    >>> chosen = select_tasks("all", "demo", split="train")                   # doctest: +SKIP
    >>> chosen.names, len(chosen.data.cases)                                   # doctest: +SKIP

Tasks that share a `Task.data_format` read the same records, so one run can mix them. ``--task all`` means
every installed task of one format: the format of the tasks that read ``--data``, found in this order:

1. unless ``--data`` is a path on this machine, the tasks that name it among their data sets (`Task.datasets`,
   by name, alias or hub id);
2. the one format every installed task shares;
3. for a path on this machine, the one format whose loader reads it.

Anything else is one line asking for ``--task a,b``. Named tasks must share one format as well. The cases are
read once, by the first task's `Task.load_data`. Whether a task can be trained at all shows in its requests
(`Task.target`): `harness.training.samples.build_slots` leaves out the tasks of ``all`` that give no targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.task import LoadedData, Task
from harness.taskdata import by_format, installed_tasks, listing, tasks_reading

ALL = "all"


@dataclass
class TrainingTasks:
    """The tasks of one run (in the registry's order) and the cases they read."""

    tasks: list[Task]
    data: LoadedData
    every_installed: bool
    """Chosen by ``--task all``: a task there that gives no training targets is left out, not an error."""

    @property
    def names(self) -> list[str]:
        return [task.name for task in self.tasks]

    @property
    def data_format(self) -> str:
        return self.tasks[0].data_format


def select_tasks(spec: str, data: Any, *, split: str | None) -> TrainingTasks:
    """The tasks ``--task spec`` names (a comma list, or ``all``: see the module docstring) with the cases of
    ``data``'s ``split``; every mistake is one `HarnessError` line."""
    from harness import plugins

    registry = plugins.registry("tasks")
    if spec.strip() == ALL:
        installed = installed_tasks()
        if not installed:
            raise HarnessError("--task all: no task is installed; install a task plugin (harness list tasks)")
        tasks, loaded = _tasks_reading(installed, data, split=split)
        return TrainingTasks(tasks, loaded if loaded is not None else _load(tasks, data, split),
                             every_installed=True)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise HarnessError(f"--task {spec!r}: give a task name, a comma list of names, or 'all'")
    if len(set(names)) != len(names):
        raise HarnessError(f"--task {spec}: name each task once")
    tasks = [registry.create(name) for name in names]  # an unknown name raises with close matches
    formats = {task.data_format for task in tasks}
    if len(formats) > 1:
        shown = "; ".join(f"{task.name}: {task.data_format}" for task in tasks)
        raise HarnessError(f"--task {spec}: these tasks read different data formats ({shown}); fine-tune tasks of "
                           f"one format together")
    return TrainingTasks(tasks, _load(tasks, data, split), every_installed=False)


def _tasks_reading(installed: Sequence[Task], data: Any, *, split: str | None) -> tuple[list[Task], LoadedData | None]:
    """The installed tasks of the format that reads ``data`` (`harness.taskdata.tasks_reading`, then, for a local
    path several formats could read, the one whose loader reads it), and the cases when finding it read them."""
    groups = by_format(installed)
    chosen = tasks_reading(data, installed, what="--task all")
    if chosen is not None:
        return chosen, None
    if Path(str(data)).expanduser().exists():
        return _probe(groups, data, split=split)
    raise HarnessError(f"--task all: no installed task names a data set '{data}', and the installed tasks read "
                       f"{len(groups)} data formats ({listing(groups)}); name the tasks with --task a,b")


def _probe(groups: dict[str, list[Task]], data: Any, *, split: str | None) -> tuple[list[Task], LoadedData]:
    """The one format whose loader reads the local path ``data`` (each format's first task tries)."""
    read: dict[str, LoadedData] = {}
    failed: dict[str, str] = {}
    for fmt, tasks in groups.items():
        try:
            read[fmt] = tasks[0].load_data(data, split=split)
        except HarnessError as exc:
            failed[fmt] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if len(read) == 1:
        fmt, loaded = next(iter(read.items()))
        return groups[fmt], loaded
    if not read:
        reasons = "; ".join(f"as {fmt}: {reason}" for fmt, reason in failed.items())
        raise HarnessError(f"--task all: no installed data format reads --data {data} ({reasons})")
    raise HarnessError(f"--task all: --data {data} reads as several data formats ({listing(groups, read)}); "
                       f"name the tasks with --task a,b")


def _load(tasks: Sequence[Task], data: Any, split: str | None) -> LoadedData:
    """``data``'s cases, read by the first task (the others read the same format)."""
    return tasks[0].load_data(data, split=split)
