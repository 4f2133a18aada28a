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

    @property
    def stem(self) -> str:
        """The case id without its image extension, as the FLARE scorer compares ids."""
        return case_stem(self.case_id)

    def chains(self) -> list[list[LocalQuestion]]:
        """Local VQA chains: each root (follow_up == -1) then every question whose follow-up path
        leads to it, in ascending id."""
        by_id = {q.id: q for q in self.local_vqa}

        def root_of(q: LocalQuestion) -> int:
            seen: set[int] = set()
            while q.follow_up != -1 and q.follow_up in by_id and q.id not in seen:
                seen.add(q.id)
                q = by_id[q.follow_up]
            return q.id

        chains = []
        for root in (q for q in self.local_vqa if q.follow_up == -1):
            members = sorted((q for q in self.local_vqa if q is not root and root_of(q) == root.id),
                             key=lambda q: q.id)
            chains.append([root, *members])
        return chains

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


IMAGE_SUFFIXES = (".nii.gz", ".nii", ".npy", ".npz", ".pt")


def case_stem(case_id: str) -> str:
    name = Path(case_id).name
    for suffix in IMAGE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


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
