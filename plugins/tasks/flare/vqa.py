"""FLARE 2025 VQA accuracy: the official global and local accuracy, and strict variants beside them.

    >>> from harness_plugins.tasks.flare.records import Case
    >>> case = Case.from_json({"case_id": "amos_1.nii.gz", "global_vqa": [
    ...     {"question": "Which?", "answer": ["ascites"]}]})
    >>> score_vqa([{"case_id": "amos_1.npy", "scope": "global", "question_id": None,
    ...             "question": "Which?", "prediction": "Ascites, gallstone"}], [case])["global_accuracy"]
    0.5

Official semantics (medfm-flare/FLARE25-MLLM3D eval_vqa.py, reference/flare_scoring.md), quirks kept:

- Only the rows given count (a prediction file missing cases is not penalised); each row counts, so a
  case or chain predicted twice counts twice. Case ids are compared without their extension
  (`records.case_stem`).
- Global row: labels = prediction split on ',', stripped, lower-cased, empties dropped; score =
  (labels found among the first global question's answers) / max(#labels, #answers), 1.0 when both are
  empty. A repeated label counts each time ("a, a" against ["a"] scores 1.0).
- Local row (one per chain root): answers = prediction split on '|', stripped, lower-cased; 0 when the
  first differs from the root's answer, else (answers equal to the reference at the same position) /
  chain length. A chain is its root, then every question whose follow-up path leads to it, by id
  (`chains.scoring_chains`; the prompts ask the root with its direct follow-ups only).
- Values pass through the CSV round trip the reference pipeline makes: a prediction that pandas reads
  as missing ("", "None", "NA", "nan", ...) is NaN, which the scorer reads as the label "nan"; a single
  space is no prediction.

Beyond the official script: cases are keyed by their relative id without extension, so two cases whose
files share a name in different folders stay apart (a row naming only the file is refused as ambiguous);
a row whose scope is not exactly "global" or "local" is refused (the official script drops it).
``local_separator=","`` scores old submissions written before the organisers' "fix VQA eval" commit.

Strict variants (``*_strict``): every question of every case given in ``cases`` counts, 0 when no row
answers it; only the first row of a question counts; a repeated label (prediction or answer) counts once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness_plugins.tasks.flare.chains import scoring_chains
from harness_plugins.tasks.flare.records import Case, LocalQuestion, relative_case_id

TASK = "flare_vqa"


LOCAL_SEPARATORS = {"|": "official, since the organisers' 'fix VQA eval' commit (2025-06-23)",
                    ",": "before that commit: for scoring old submissions"}
"""Separators between the answers of a local chain in a prediction."""

SCOPES = ("global", "local")


def _na_strings() -> frozenset[str]:
    from pandas._libs.parsers import STR_NA_VALUES

    return frozenset(STR_NA_VALUES)


def as_read_from_csv(value: Any) -> Any:
    """A prediction as pandas reads it back from the reference CSV: NA-looking strings become NaN."""
    return math.nan if isinstance(value, str) and value in _na_strings() else value


def _norm(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip().lower()


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def global_row_score(prediction: Any, answers: Sequence[str], *, strict: bool = False) -> float:
    """One global row: labels found among the answers / max(#labels, #answers); 1.0 when both are empty."""
    labels = [_norm(p) for p in str(as_read_from_csv(prediction)).split(",") if _norm(p)]
    references = [_norm(a) for a in answers]
    if strict:
        labels, references = _unique(labels), _unique(references)
    if not labels and not references:
        return 1.0
    return sum(label in references for label in labels) / max(len(labels), len(references))


def local_row_score(prediction: Any, chain_answers: Sequence[str], separator: str = "|") -> float:
    """One local chain: 0 if the root answer is wrong, else the share of positions answered right."""
    answers = [_norm(p) for p in str(as_read_from_csv(prediction)).split(separator)]
    references = [_norm(a) for a in chain_answers]
    if answers[0] != references[0]:
        return 0.0
    correct = sum((answers[i] if i < len(answers) else "") == ref for i, ref in enumerate(references))
    return correct / len(references)


def _question_id(row: Mapping[str, Any]) -> int:
    value = row.get("question_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HarnessError(
            f"local row of case {row.get('case_id')} has question_id {value!r}; local rows need the chain's root id"
        ) from None


class _Truth:
    """The ground truth keyed by relative case id without extension (a later record with the same id wins).

    A prediction row's id matches the case whose id it equals, ends with (after a '/') or is the end of;
    the official scorer keys by file name alone, which merges cases sharing a file name in different
    folders. Such a row matching several cases is refused."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.cases = {relative_case_id(c.case_id): c for c in cases}
        self._by_name: dict[str, list[str]] = {}
        for cid in self.cases:
            self._by_name.setdefault(Path(cid).name, []).append(cid)
        self._chains: dict[str, dict[int, list[LocalQuestion]]] = {}
        self._resolved: dict[str, str] = {}

    def resolve(self, case_id: Any) -> str:
        """The ground-truth id a prediction row's case id names."""
        row = relative_case_id(case_id)
        if row in self._resolved:
            return self._resolved[row]
        if row in self.cases:
            found = [row]
        else:
            found = [cid for cid in self._by_name.get(Path(row).name, [])
                     if row.endswith("/" + cid) or cid.endswith("/" + row)]
        if not found:
            raise HarnessError(
                f"case '{case_id}' of the predictions is not in the ground truth; pass the records it comes from"
            )
        if len(found) > 1:
            raise HarnessError(
                f"case '{case_id}' of the predictions matches {len(found)} ground-truth cases ({', '.join(found)}); "
                "write the case id with its folder"
            )
        self._resolved[row] = found[0]
        return found[0]

    def case(self, cid: str) -> Case:
        return self.cases[cid]

    def global_answers(self, cid: str) -> list[str]:
        case = self.case(cid)
        if not case.global_vqa:
            raise HarnessError(f"case '{cid}' has a global prediction but no global question in the ground truth")
        return case.global_vqa[0].answer

    def chains(self, cid: str) -> dict[int, list[LocalQuestion]]:
        if cid not in self._chains:
            self._chains[cid] = scoring_chains(self.case(cid))
        return self._chains[cid]

    def chain_answers(self, cid: str, root: int) -> list[str]:
        return [q.answer for q in self.chains(cid)[root]]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _scope(row: Mapping[str, Any]) -> str:
    scope = row.get("scope")
    if scope not in SCOPES:
        raise HarnessError(
            f"prediction row of case {row.get('case_id')} has scope {scope!r}; the scope is 'global' or 'local'"
        )
    return scope


def score_vqa(rows: Sequence[Mapping[str, Any]], cases: Sequence[Case], *, local_separator: str = "|"
              ) -> dict[str, Any]:
    """Score prediction rows (case_id, scope, question_id, question, prediction) against FLARE records.

    ``local_separator`` splits a local prediction into the chain's answers: '|' (official) or ','
    (before the organisers' "fix VQA eval" commit, for old submissions); it is recorded in the scores."""
    if local_separator not in LOCAL_SEPARATORS:
        raise HarnessError(f"local separator {local_separator!r}: choose '|' (official) or ',' (before 'fix VQA eval')")
    truth = _Truth(cases)
    scopes = [_scope(r) for r in rows]
    per_case: dict[str, dict[str, list[float]]] = {}

    def case_entry(cid: str) -> dict[str, list[float]]:
        return per_case.setdefault(cid, {"global": [], "local": []})

    global_scores: list[float] = []
    for row in (r for r, scope in zip(rows, scopes, strict=True) if scope == "global"):
        cid = truth.resolve(row.get("case_id"))
        score = global_row_score(row.get("prediction"), truth.global_answers(cid))
        global_scores.append(score)
        case_entry(cid)["global"].append(score)

    # The reference groups local rows by the raw case id (sorted), keeping file order within a case.
    local_rows = sorted((r for r, scope in zip(rows, scopes, strict=True) if scope == "local"),
                        key=lambda r: str(r.get("case_id")))
    local_scores: list[float] = []
    for row in local_rows:
        cid = truth.resolve(row.get("case_id"))
        root = _question_id(row)
        if root not in truth.chains(cid):
            continue  # not a chain root: the reference skips the row
        score = local_row_score(row.get("prediction"), truth.chain_answers(cid, root), local_separator)
        local_scores.append(score)
        case_entry(cid)["local"].append(score)

    strict_global, strict_local = _strict_scores(rows, truth, local_separator)
    return {
        "task": TASK,
        "global_accuracy": _mean(global_scores),
        "local_accuracy": _mean(local_scores),
        "n_global": len(global_scores),
        "n_local": len(local_scores),
        "global_accuracy_strict": _mean(strict_global),
        "local_accuracy_strict": _mean(strict_local),
        "n_global_strict": len(strict_global),
        "n_local_strict": len(strict_local),
        "local_separator": local_separator,
        "per_case": {cid: _case_summary(entry) for cid, entry in per_case.items()},
    }


def _case_summary(entry: dict[str, list[float]]) -> dict[str, float | int]:
    """One case's accuracies with the number of rows behind each (the leaderboard weights by them)."""
    summary: dict[str, float | int] = {"n_global": len(entry["global"]), "n_local": len(entry["local"])}
    if entry["global"]:
        summary["global_accuracy"] = _mean(entry["global"])
    if entry["local"]:
        summary["local_accuracy"] = _mean(entry["local"])
    return summary


def _strict_scores(rows: Sequence[Mapping[str, Any]], truth: _Truth, separator: str
                   ) -> tuple[list[float], list[float]]:
    """Every case's first global question and every chain count once; unanswered ones score 0."""
    first_global: dict[str, Any] = {}
    first_local: dict[tuple[str, int], Any] = {}
    for row in rows:
        cid = truth.resolve(row.get("case_id"))
        if row.get("scope") == "global":
            first_global.setdefault(cid, row.get("prediction"))
        elif row.get("scope") == "local":
            first_local.setdefault((cid, _question_id(row)), row.get("prediction"))
    global_scores: list[float] = []
    local_scores: list[float] = []
    for cid, case in truth.cases.items():
        if case.global_vqa:
            answered = cid in first_global
            global_scores.append(
                global_row_score(first_global[cid], case.global_vqa[0].answer, strict=True) if answered else 0.0
            )
        for root in truth.chains(cid):
            answered = (cid, root) in first_local
            local_scores.append(
                local_row_score(first_local[(cid, root)], truth.chain_answers(cid, root), separator)
                if answered else 0.0
            )
    return global_scores, local_scores
