"""Training samples from cases and task plugins, mixed as the reference mixes them.

Each task renders a case into requests (`Task.requests`) and gives each its target text
(`Task.target(request)`). One case gives one *slot* per task:

- a task that yields one request per case (the report) gives a fixed sample;
- a task that yields several gives a slot that draws afresh at every visit: one of the case's scopes with
  equal probability (the only one when it has one), then within it the first request when the task's
  `Task.training_draw` says ``"first"`` for that scope (and ``sample_draw="task"``, the default), else a
  random request.

The training set is the concatenation of every task's slots, so one epoch shows each case once per task.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.task import Case, Task


@dataclass
class Sample:
    prompt: str
    target: str
    key: str


@dataclass
class Slot:
    """All the samples one case offers one task, grouped by scope; `draw` picks one."""

    case_index: int
    task: str
    by_scope: dict[str, list[Sample]] = field(default_factory=dict)
    first_scopes: frozenset[str] = frozenset()
    """Scopes whose sample is always their first request (the task's `Task.training_draw`)."""

    def draw(self, rng: random.Random | Any, sample_draw: str = "task") -> Sample:
        scopes = sorted(self.by_scope)
        scope = scopes[0] if len(scopes) == 1 else scopes[int(rng.random() * len(scopes))]
        options = self.by_scope[scope]
        if sample_draw == "task" and scope in self.first_scopes:
            return options[0]
        return options[int(rng.random() * len(options))] if len(options) > 1 else options[0]


def build_slots(
    cases: Sequence[Case], tasks: Sequence[Task], *, style: str, image_tokens: str, tokenizer: Any,
    leave_out_untrainable: bool = False,
) -> tuple[list[Slot], list[str]]:
    """Every task's slots over ``cases``, task by task (the reference's ConcatDataset order), and the names of
    the tasks left out. A request trains on `Task.target`; a task none of whose requests has one cannot be
    trained: with ``leave_out_untrainable`` (``--task all``) it is left out, otherwise it is an error, as is a
    task that gives targets for some requests and not for others."""
    slots: list[Slot] = []
    left_out: list[str] = []
    for task in tasks:
        own: list[Slot] = []
        missing: list[str] = []
        for index, case in enumerate(cases):
            requests = task.requests(case, style=style, image_tokens=image_tokens, tokenizer=tokenizer)
            if not requests:
                continue
            slot = Slot(case_index=index, task=task.name,
                        first_scopes=frozenset(s for s, how in task.training_draw.items() if how == "first"))
            for request in requests:
                target = task.target(request)
                if target is None:
                    missing.append(request.key)
                    continue
                slot.by_scope.setdefault(request.scope, []).append(Sample(request.prompt, target, request.key))
            if slot.by_scope:
                own.append(slot)
        if missing and not own and leave_out_untrainable:
            left_out.append(task.name)
            continue
        if missing:
            raise HarnessError(f"task '{task.name}' gives no training target for {missing[0]}"
                               f"{f' and {len(missing) - 1} more requests' if len(missing) > 1 else ''}; "
                               f"it cannot be fine-tuned: leave it out of --task")
        slots.extend(own)
    if not slots:
        names = ", ".join(t.name for t in tasks)
        if left_out:
            raise HarnessError(f"none of the tasks {names} gives training targets: fine-tune tasks that do")
        raise HarnessError(f"the data gave no training samples for {names}: check --data and --task")
    return slots, left_out
