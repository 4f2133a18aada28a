"""Typed FLARE records. One `Case` per JSON record; `load_cases` reads and validates files.

    >>> from harness_plugins.tasks.flare.records import Case
    >>> case = Case.from_json({"case_id": "amos_0008.nii.gz", "findings": {"liver": "Normal."}})
    >>> case.domain
    'abdomen'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError

Domain = Literal["abdomen", "chest"]


@dataclass
class GlobalQuestion:
    question: str
    answer: list[str]
    choices: list[str] | None = None


@dataclass
class LocalQuestion:
    id: int
    follow_up: int
    question: str
    answer: str
    type: str | None = None
    choices: list[str] | None = None


@dataclass
class Case:
    case_id: str
    findings: dict[str, str] = field(default_factory=dict)
    impression: list[str] = field(default_factory=list)
    global_vqa: list[GlobalQuestion] = field(default_factory=list)
    local_vqa: list[LocalQuestion] = field(default_factory=list)
    image: Path | None = None
    """Absolute path of the image, resolved against the data set's image root."""
    domain: Domain = "abdomen"
    source: str = ""
    """The JSON file this case came from."""

    @classmethod
    def from_json(cls, record: dict[str, Any], *, image_root: Path | None = None, source: str = "") -> Case:
        """Build a case from one FLARE JSON record (validation lives in `harness_plugins.tasks.flare.validate`)."""
        global_vqa = [GlobalQuestion(g["question"], list(g.get("answer") or []), g.get("choices"))
                      for g in record.get("global_vqa") or []]
        local_vqa = [LocalQuestion(int(q["id"]), int(q.get("follow_up", -1)), q["question"], str(q["answer"]),
                                   q.get("type"), q.get("choices")) for q in record.get("local_vqa") or []]
        case_id = record["case_id"]
        return cls(
            case_id=case_id,
            findings=dict(record.get("findings") or {}),
            impression=list(record.get("impression") or []),
            global_vqa=global_vqa,
            local_vqa=local_vqa,
            image=(image_root / case_id) if image_root is not None else None,
            domain=guess_domain(case_id, source, global_vqa),
            source=source,
        )


def relative_case_id(case_id: Any) -> str:
    """The case id with its folders kept ('/' between them) and its extension removed: ".nii.gz", else the
    file name's last suffix, as the official VQA scorer strips it. Preprocessing names its .npy files by it.

        >>> relative_case_id("CT-AMOS/amos_0008.nii.gz"), relative_case_id("a.b.npy")
        ('CT-AMOS/amos_0008', 'a.b')
    """
    if not isinstance(case_id, str) or not case_id:
        raise HarnessError(f"prediction row has case_id {case_id!r}; every row needs a case id string")
    path = Path(case_id.replace("\\", "/"))
    name = path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else Path(path.name).stem
    return str(path.with_name(name)) if path.name else name


def case_stem(case_id: Any) -> str:
    """The official scorer's case key: the file name of `relative_case_id` (``dir/a.npy`` -> ``a``)."""
    return Path(relative_case_id(case_id)).name


def guess_domain(case_id: str, source: str, global_vqa: list[GlobalQuestion]) -> Domain:
    """Abdomen (CT-AMOS) or chest (CT-RATE): from the names first, else from the choice count
    (66 abdominal labels, at most 20 chest labels)."""
    text = f"{source} {case_id}".lower()
    if "amos" in text:
        return "abdomen"
    if "rate" in text or "chest" in text:
        return "chest"
    counts = [len(g.choices) for g in global_vqa if g.choices]
    if counts and max(counts) <= 20:
        return "chest"
    return "abdomen"
