"""The FLARE tasks' `harness bench` workload: one validation-shaped case, built without any file.

The tasks' registrations point at `bench_case` (``bench`` metadata, `harness.bench.workload`): each task renders
its own requests of that case, so the measured prompts are exactly what `harness run` sends.
"""

from __future__ import annotations

import random

from harness.bench.prompts import report_text
from harness_plugins.tasks.flare.records import Case, GlobalQuestion, LocalQuestion

QUESTIONS = {"full": 12, "tiny": 3}
"""VQA requests of one case: the validation set's typical case at ``full``; fewer at ``tiny``."""

CONDITIONS = (
    "hydronephrosis", "cardiomegaly", "lymphadenopathy", "kidney_stone", "fatty_liver", "adrenal_hyperplasia",
    "atelectasis", "gallstone", "splenomegaly", "pleural_effusion", "ascites", "aortic_aneurysm", "splenic_cyst",
    "adrenal_nodule", "emphysema", "lung_nodule", "bile_duct_stone", "hepatic_cyst", "hiatal_hernia", "renal_cyst",
)


def bench_case(scale: str, seed: int = 0, questions: int | None = None) -> Case:
    """A FLARE validation-shaped case: findings of five organs, one multi-label global question with 20
    choices, other global questions, and local chains (root + two follow-ups): ``questions`` VQA requests
    (default: `QUESTIONS` of ``scale``)."""
    questions = QUESTIONS[scale] if questions is None else questions
    rng = random.Random(seed)
    findings = {organ: report_text(rng, 18) for organ in ("liver", "gallbladder", "spleen", "pancreas", "kidney")}
    global_vqa = [GlobalQuestion("Which of the following conditions are present in this scan? (Select all that "
                                 "apply, leave empty if none)", ["renal_cyst"], list(CONDITIONS))]
    local_vqa: list[LocalQuestion] = []
    n_local = max(0, questions - 1) // 2
    for i in range(n_local):
        root = 10 * i
        local_vqa += [
            LocalQuestion(root, -1, "Is there a lesion in the liver?", "yes", "yes_no", ["yes", "no"]),
            LocalQuestion(root + 1, root, "In which segment is the lesion located?", "VII", "choice",
                          ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]),
            LocalQuestion(root + 2, root, "What is the largest diameter of the lesion in cm?", "2.3"),
        ]
    while len(global_vqa) + n_local < questions:
        global_vqa.append(GlobalQuestion("Is the spleen enlarged?", ["yes"], ["yes", "no"]))
    return Case("bench_0001.nii.gz", findings=findings, global_vqa=global_vqa, local_vqa=local_vqa)
