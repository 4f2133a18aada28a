"""Local VQA chains: the one place that knows how follow-up questions group under a root.

A record's local questions form trees: a root has ``follow_up == -1``, every other question names the
question it follows up. The two reference scripts group them differently, and each is kept exactly:

- Asking (Med3DVLM's inference script, `prompt_chain`): the root, then its *direct* follow-ups in record
  order. A follow-up of a follow-up is never asked.
- Scoring (the official eval_vqa.py, `scoring_chains`): the root, then *every* question whose follow-up
  path leads to it, in ascending id. A question whose path reaches a missing id or loops is an error
  (validated records never have one: `validate` refuses both).

On a record whose follow-ups are all direct the two hold the same questions (up to order); here they differ:

    >>> from harness_plugins.tasks.flare.records import Case
    >>> case = Case.from_json({"case_id": "a.nii.gz", "local_vqa": [
    ...     {"id": 1, "follow_up": -1, "question": "Cyst?", "answer": "Yes"},
    ...     {"id": 3, "follow_up": 2, "question": "Size?", "answer": "2 cm"},
    ...     {"id": 2, "follow_up": 1, "question": "Side?", "answer": "Left"}]})
    >>> [q.id for q in prompt_chain(case, case.local_vqa[0])]
    [1, 2]
    >>> {root: [q.id for q in chain] for root, chain in scoring_chains(case).items()}
    {1: [1, 2, 3]}
"""

from __future__ import annotations

from harness.errors import HarnessError
from harness_plugins.tasks.flare.records import Case, LocalQuestion


def roots(case: Case) -> list[LocalQuestion]:
    """The case's root questions (``follow_up == -1``), in record order: one local prompt each."""
    return [q for q in case.local_vqa if q.follow_up == -1]


def prompt_chain(case: Case, root: LocalQuestion) -> list[LocalQuestion]:
    """The questions the reference inference script asks with ``root``: the root, then its direct
    follow-ups in record order."""
    return [root, *(q for q in case.local_vqa if q.follow_up == root.id)]


def scoring_chains(case: Case) -> dict[int, list[LocalQuestion]]:
    """Root id -> [root, then every question whose follow-up path leads to it, by ascending id], as the
    official scorer builds them (roots in the order their first member appears in the record)."""
    by_id = {q.id: q for q in case.local_vqa}
    members: dict[int, set[int]] = {}
    for question in case.local_vqa:
        root, seen = question.id, {question.id}
        while by_id[root].follow_up != -1:
            root = by_id[root].follow_up
            if root not in by_id or root in seen:
                raise HarnessError(
                    f"case {case.case_id}: local question {question.id} follows up a missing or circular "
                    f"question ({root}); fix the record's follow_up ids"
                )
            seen.add(root)
        members.setdefault(root, set()).add(question.id)
    return {root: [by_id[root], *(by_id[i] for i in sorted(ids - {root}))] for root, ids in members.items()}
