"""A deterministic synthetic FLARE-format data set: CT-like volumes with rendered findings and
records that describe exactly what was rendered.

    >>> from harness_plugins.tasks.flare.demo import generate_demo
    >>> root = generate_demo("demo_data", cases=12, seed=5)    # doctest: +SKIP

Layout: exactly the published FLARE one (`harness_plugins.tasks.flare.layout`), FLARE 2025's file names by default::

    demo_data/train/CT-AMOS-1290/amos_*.nii.gz      demo_data/train/CT-AMOS-Tr.json
    demo_data/train/CT-RATE-2000/train_*.nii.gz     demo_data/train/CT-RATE-Tr .json   (2026: CT-RATE-Tr.json)
    demo_data/validation/images/*.nii.gz            demo_data/validation/val.json
    demo_data/demo_manifest.json

Volumes are (D, H, W) = (48, 96, 96) int16 HU in SimpleITK's array order (z, y, x) with LPS
orientation: x grows toward the patient's left, y toward the back, z toward the head. Findings
are large enough to stay visible at a 32x64x64 model input. Each record carries an extra
``annotations`` list (label, organ, side, centre and radius in voxels, HU) that the tests check
against the image; FLARE readers ignore it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SHAPE = (48, 96, 96)
SPACING = (4.0, 4.0, 6.0)
"""(x, y, z) millimetres per voxel, SimpleITK order."""
VERSION = 2
"""2: the published layout (1 had ``images/`` folders and ``*-demo.json`` names; same cases and voxels)."""
LAYOUTS = {"flare2025": "CT-RATE-Tr .json", "flare2026": "CT-RATE-Tr.json"}
"""Layout name -> the CT-RATE record file's name (FLARE 2025 published it with a space)."""
IMAGE_FOLDERS = {("train", "abdomen"): "train/CT-AMOS-1290", ("train", "chest"): "train/CT-RATE-2000",
                 ("validation", "abdomen"): "validation/images", ("validation", "chest"): "validation/images"}

ABDOMEN_LABELS = [
    "hepatic_cyst",
    "hepatic_lesion",
    "fatty_liver",
    "hepatomegaly",
    "splenomegaly",
    "splenic_cyst",
    "renal_cyst",
    "kidney_stone",
    "hydronephrosis",
    "gallstone",
    "ascites",
    "aortic_aneurysm",
    "lymphadenopathy",
    "pancreatic_cyst",
    "adrenal_nodule",
    "bile_duct_stone",
    "bowel_obstruction",
    "colonic_diverticulosis",
    "hiatal_hernia",
    "inguinal_hernia",
    "portal_vein_thrombosis",
    "renal_atrophy",
    "vertebral_fracture",
    "umbilical_hernia",
]
"""24 labels (more than 20, as the real abdominal list of 66): the first 14 can be rendered."""
CHEST_LABELS = [
    "lung_nodule",
    "pleural_effusion",
    "cardiomegaly",
    "emphysema",
    "consolidation",
    "lymphadenopathy",
    "coronary_calcification",
    "atelectasis",
    "bronchiectasis",
    "pneumothorax",
    "pericardial_effusion",
    "hiatal_hernia",
]
"""12 labels (at most 20, as the real chest list): the first 7 can be rendered."""


@dataclass
class Finding:
    label: str
    organ: str
    """The findings key its text goes under."""
    text: str
    side: str | None = None
    center: tuple[float, float, float] | None = None
    radius: float | None = None
    hu: float | None = None
    local: dict | None = None
    """The local VQA chain about it: location, appearance, implication (answer, choices)."""


@dataclass
class Phantom:
    volume: np.ndarray
    organs: dict[str, np.ndarray] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


_GRID = np.indices(SHAPE, dtype=np.float32)


def _ellipsoid(center, radii) -> np.ndarray:
    z, y, x = _GRID
    return ((z - center[0]) / radii[0]) ** 2 + ((y - center[1]) / radii[1]) ** 2 + (
        (x - center[2]) / radii[2]
    ) ** 2 <= 1


def _cylinder(cy, cx, ry, rx, z0=0, z1=SHAPE[0]) -> np.ndarray:
    z, y, x = _GRID
    return (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1) & (z >= z0) & (z < z1)


def _cm(radius_vox: float) -> str:
    return f"{2 * radius_vox * SPACING[0] / 10:.1f} cm"


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _sphere_in(rng, organ_mask: np.ndarray, radius: float, where: np.ndarray | None = None) -> tuple[float, ...]:
    """A centre inside the organ, ``radius`` away from its border where possible (deterministic)."""
    from scipy.ndimage import distance_transform_edt

    mask = organ_mask if where is None else organ_mask & where
    depth = distance_transform_edt(mask)
    candidates = np.argwhere(depth >= min(radius, depth.max()) * 0.9)
    return tuple(float(v) for v in candidates[int(rng.integers(len(candidates)))])


def _paint(volume: np.ndarray, mask: np.ndarray, hu: float) -> None:
    volume[mask] = hu


# --- abdomen -------------------------------------------------------------------------------------

_NORMAL_ABDOMEN = {
    "liver": [
        "The liver is normal in size and attenuation without focal lesions.",
        "Liver: normal size, homogeneous parenchyma, no focal lesion.",
        "No focal hepatic lesion; the liver is of normal size.",
    ],
    "biliary system": [
        "The gallbladder is unremarkable; no biliary dilatation.",
        "Gallbladder and bile ducts are normal.",
    ],
    "spleen": ["The spleen is normal in size.", "Spleen unremarkable.", "Normal spleen without focal lesion."],
    "pancreas": ["The pancreas is unremarkable.", "Normal pancreatic parenchyma without ductal dilatation."],
    "kidneys": [
        "Both kidneys are normal in size without stones or hydronephrosis.",
        "Kidneys: symmetric enhancement, no calculi, no hydronephrosis.",
    ],
    "blood vessels": ["The abdominal aorta is of normal calibre.", "No aortic aneurysm."],
    "lymphatic system": ["No enlarged lymph nodes.", "No retroperitoneal or mesenteric lymphadenopathy."],
    "abdominal cavity and peritoneum": ["No ascites or free air.", "No free fluid in the abdomen."],
    "musculoskeletal system": ["No aggressive osseous lesion.", "The visualised bones are unremarkable."],
}


def _abdomen(rng: np.random.Generator, labels: list[str]) -> Phantom:
    vol = np.full(SHAPE, -1000.0, np.float32)
    body = _cylinder(50, 48, 34, 44)
    _paint(vol, body, -100.0)  # subcutaneous fat
    inner = _cylinder(50, 48, 29, 39)
    _paint(vol, inner, -40.0)  # fat and bowel
    scale = {"hepatomegaly": 1.3, "splenomegaly": 1.5}
    organs = {
        "liver": _ellipsoid(
            (30, 42, 28), np.array((13, 16, 16)) * scale.get("hepatomegaly" if "hepatomegaly" in labels else "", 1)
        ),
        "spleen": _ellipsoid(
            (30, 58, 72), np.array((8, 8, 6)) * scale.get("splenomegaly" if "splenomegaly" in labels else "", 1)
        ),
        "right kidney": _ellipsoid((18, 64, 30), (8, 6, 5)),
        "left kidney": _ellipsoid((18, 64, 66), (8, 6, 5)),
        "pancreas": _ellipsoid((24, 52, 52), (3, 4, 13)),
        "gallbladder": _ellipsoid((22, 34, 38), (5, 4, 4)),
    }
    organs["liver"] &= inner
    organs["spleen"] &= inner
    aorta_r = 7.0 if "aortic_aneurysm" in labels else 3.5
    organs["aorta"] = _cylinder(66, 52, aorta_r, aorta_r, 4, 44)
    organs["spine"] = _cylinder(78, 48, 6, 6)
    base = {
        "liver": 60.0,
        "spleen": 50.0,
        "right kidney": 150.0,
        "left kidney": 150.0,
        "pancreas": 40.0,
        "gallbladder": 10.0,
        "aorta": 160.0,
        "spine": 700.0,
    }
    if "fatty_liver" in labels:
        base["liver"] = -5.0
    for name in ("liver", "spleen", "right kidney", "left kidney", "pancreas", "gallbladder", "aorta", "spine"):
        organs[name] &= body
        _paint(vol, organs[name], base[name])
    ph = Phantom(vol, organs)
    texts: dict[str, list[str]] = {}

    def add(f: Finding) -> None:
        ph.findings.append(f)
        texts.setdefault(f.organ, []).append(f.text)

    for label in labels:
        if label == "hepatic_cyst" or label == "hepatic_lesion":
            r = float(rng.uniform(4.0, 5.5))
            c = _sphere_in(rng, organs["liver"], r)
            lobe = "right" if c[2] < 30 else "left"
            hu = 5.0 if label == "hepatic_cyst" else 120.0
            _paint(vol, _ellipsoid(c, (r, r, r)) & organs["liver"], hu)
            kind = "simple cyst" if label == "hepatic_cyst" else "hyperenhancing mass"
            text = _pick(
                rng,
                [
                    f"A {_cm(r)} {kind} in the {lobe} hepatic lobe.",
                    f"There is a {kind} measuring {_cm(r)} in the {lobe} lobe of the liver.",
                ],
            )
            add(
                Finding(
                    label,
                    "liver",
                    text,
                    lobe,
                    c,
                    r,
                    hu,
                    local={
                        "thing": "a focal liver lesion",
                        "location": (
                            f"{lobe.capitalize()} hepatic lobe",
                            ["Right hepatic lobe", "Left hepatic lobe", "Caudate lobe"],
                        ),
                        "appearance": (
                            "Fluid attenuation" if label == "hepatic_cyst" else "Hyperattenuating solid",
                            ["Fluid attenuation", "Hyperattenuating solid", "Fat containing"],
                        ),
                        "implication": (
                            "Benign simple cyst" if label == "hepatic_cyst" else "Hypervascular tumour",
                            ["Benign simple cyst", "Hypervascular tumour", "Abscess"],
                        ),
                    },
                )
            )
        elif label == "fatty_liver":
            add(
                Finding(
                    label,
                    "liver",
                    _pick(
                        rng,
                        [
                            "Diffuse hepatic steatosis with low liver attenuation.",
                            "The liver shows diffusely decreased attenuation, consistent with fatty infiltration.",
                        ],
                    ),
                    hu=-5.0,
                )
            )
        elif label == "hepatomegaly":
            add(Finding(label, "liver", _pick(rng, ["The liver is enlarged.", "Hepatomegaly."])))
        elif label == "splenomegaly":
            add(
                Finding(
                    label,
                    "spleen",
                    _pick(rng, ["The spleen is enlarged.", "Splenomegaly is present."]),
                    local={
                        "thing": "an enlarged spleen",
                        "location": None,
                        "appearance": (
                            "Homogeneous enlargement",
                            ["Homogeneous enlargement", "Multiple nodules", "Wedge-shaped defect"],
                        ),
                        "implication": (
                            "Portal hypertension or haematological disease",
                            ["Portal hypertension or haematological disease", "Splenic infarct", "Trauma"],
                        ),
                    },
                )
            )
        elif label == "splenic_cyst" or label == "pancreatic_cyst":
            organ = "spleen" if label == "splenic_cyst" else "pancreas"
            r = 3.5 if organ == "spleen" else 3.0
            c = _sphere_in(rng, organs[organ], r)
            _paint(vol, _ellipsoid(c, (r, r, r)) & (organs[organ] | (organ == "pancreas")), 5.0)
            add(Finding(label, organ, f"A {_cm(r)} cystic lesion in the {organ}.", None, c, r, 5.0))
        elif label == "renal_cyst" or label == "kidney_stone" or label == "hydronephrosis":
            side = _pick(rng, ["right", "left"])
            kidney = organs[f"{side} kidney"]
            if label == "renal_cyst":
                r, hu = 4.0, 5.0
            elif label == "kidney_stone":
                r, hu = 2.5, 900.0
            else:
                r, hu = 3.5, 0.0
            c = (
                _sphere_in(rng, kidney, r)
                if label != "hydronephrosis"
                else (18.0, 64.0, 30.0 if side == "right" else 66.0)
            )
            _paint(vol, _ellipsoid(c, (r, r, r)), hu)
            word = {
                "renal_cyst": f"a {_cm(r)} simple cyst",
                "kidney_stone": f"a {_cm(r)} calculus",
                "hydronephrosis": "moderate hydronephrosis",
            }[label]
            text = _pick(rng, [f"The {side} kidney shows {word}.", f"There is {word} in the {side} kidney."])
            add(
                Finding(
                    label,
                    "kidneys",
                    text,
                    side,
                    c,
                    r,
                    hu,
                    local={
                        "thing": {
                            "renal_cyst": "a renal cyst",
                            "kidney_stone": "a renal calculus",
                            "hydronephrosis": "hydronephrosis",
                        }[label],
                        "location": (f"{side.capitalize()} kidney", ["Right kidney", "Left kidney", "Both kidneys"]),
                        "appearance": (
                            {
                                "renal_cyst": "Fluid attenuation",
                                "kidney_stone": "Dense calcification",
                                "hydronephrosis": "Dilated collecting system",
                            }[label],
                            ["Fluid attenuation", "Dense calcification", "Dilated collecting system"],
                        ),
                        "implication": (
                            {
                                "renal_cyst": "Benign cortical cyst",
                                "kidney_stone": "Nephrolithiasis",
                                "hydronephrosis": "Urinary obstruction",
                            }[label],
                            ["Benign cortical cyst", "Nephrolithiasis", "Urinary obstruction"],
                        ),
                    },
                )
            )
        elif label == "gallstone":
            r = 2.5
            c = _sphere_in(rng, organs["gallbladder"], r)
            _paint(vol, _ellipsoid(c, (r, r, r)), 500.0)
            add(
                Finding(
                    label,
                    "biliary system",
                    f"A {_cm(r)} calcified gallstone in the gallbladder.",
                    None,
                    c,
                    r,
                    500.0,
                    local={
                        "thing": "a gallstone",
                        "location": None,
                        "appearance": ("Dense calcification", ["Dense calcification", "Fluid attenuation", "Gas"]),
                        "implication": (
                            "Cholelithiasis",
                            ["Cholelithiasis", "Cholecystitis with perforation", "Gallbladder carcinoma"],
                        ),
                    },
                )
            )
        elif label == "ascites":
            shell = _cylinder(50, 48, 28, 38) & ~_cylinder(50, 48, 22, 32) & (_GRID[1] < 50)
            shell &= ~np.any([organs[k] for k in ("liver", "spleen", "aorta", "spine")], axis=0)
            _paint(vol, shell, 10.0)
            add(
                Finding(
                    label,
                    "abdominal cavity and peritoneum",
                    _pick(
                        rng, ["Moderate ascites.", "There is a moderate amount of free fluid in the peritoneal cavity."]
                    ),
                    hu=10.0,
                )
            )
        elif label == "aortic_aneurysm":
            add(
                Finding(
                    label,
                    "blood vessels",
                    f"Infrarenal abdominal aortic aneurysm measuring {_cm(aorta_r)}.",
                    None,
                    (24.0, 66.0, 52.0),
                    aorta_r,
                    160.0,
                )
            )
        elif label == "lymphadenopathy":
            r = 3.5
            for cx in (38.0, 62.0):
                _paint(vol, _ellipsoid((30.0, 60.0, cx), (r, r, r)) & ~organs["aorta"], 35.0)
            add(
                Finding(
                    label,
                    "lymphatic system",
                    f"Enlarged para-aortic lymph nodes up to {_cm(r)}.",
                    None,
                    (30.0, 60.0, 38.0),
                    r,
                    35.0,
                )
            )
    findings = {
        organ: " ".join(texts.get(organ, [])) or _pick(rng, options) for organ, options in _NORMAL_ABDOMEN.items()
    }
    return _finish(rng, ph, findings)


# --- chest ---------------------------------------------------------------------------------------

_NORMAL_CHEST = {
    "lungs and pleura": ["The lungs are clear. No pleural effusion.", "No nodule, consolidation or effusion."],
    "heart": ["Heart size is normal.", "Normal cardiac size; no pericardial effusion."],
    "mediastinum": ["No mediastinal mass.", "The mediastinum is unremarkable."],
    "blood vessels": ["The thoracic aorta is of normal calibre.", "No coronary calcification."],
    "respiratory tract": ["The trachea and main bronchi are patent.", "Central airways are clear."],
    "lymphatic system": ["No enlarged mediastinal or hilar lymph nodes.", "No lymphadenopathy."],
    "musculoskeletal system": ["No destructive bone lesion.", "Osseous structures are unremarkable."],
}


def _chest(rng: np.random.Generator, labels: list[str]) -> Phantom:
    vol = np.full(SHAPE, -1000.0, np.float32)
    body = _cylinder(50, 48, 34, 44)
    _paint(vol, body, 40.0)  # chest wall
    lung_hu = -950.0 if "emphysema" in labels else -850.0
    organs = {
        "right lung": _ellipsoid((26, 48, 28), (20, 24, 15)) & body,
        "left lung": _ellipsoid((26, 48, 68), (20, 24, 15)) & body,
    }
    for name in ("right lung", "left lung"):
        _paint(vol, organs[name], lung_hu)
    organs["mediastinum"] = _cylinder(46, 48, 14, 8, 4, 44) & body
    _paint(vol, organs["mediastinum"], -80.0)
    heart_r = np.array((9, 11, 12)) * (1.35 if "cardiomegaly" in labels else 1.0)
    organs["heart"] = _ellipsoid((14, 40, 54), heart_r) & body
    _paint(vol, organs["heart"], 40.0)
    organs["aorta"] = _cylinder(56, 44, 3.5, 3.5, 10, 44)
    _paint(vol, organs["aorta"], 50.0)
    organs["trachea"] = _cylinder(38, 48, 3, 3, 30, 48)
    _paint(vol, organs["trachea"], -1000.0)
    organs["spine"] = _cylinder(78, 48, 6, 6)
    _paint(vol, organs["spine"], 700.0)
    ph = Phantom(vol, organs)
    texts: dict[str, list[str]] = {}

    def add(f: Finding) -> None:
        ph.findings.append(f)
        texts.setdefault(f.organ, []).append(f.text)

    for label in labels:
        if label in ("lung_nodule", "consolidation"):
            side = _pick(rng, ["right", "left"])
            lobe = _pick(rng, ["upper", "lower"])
            lung = organs[f"{side} lung"]
            where = _GRID[0] >= 26 if lobe == "upper" else _GRID[0] < 26
            r = 4.0 if label == "lung_nodule" else 6.5
            c = _sphere_in(rng, lung, r, where)
            _paint(vol, _ellipsoid(c, (r, r, r)) & lung, 30.0)
            thing = f"a {_cm(r)} solid nodule" if label == "lung_nodule" else "an area of consolidation"
            text = _pick(
                rng,
                [f"There is {thing} in the {side} {lobe} lobe.", f"{thing.capitalize()} in the {side} {lobe} lobe."],
            )
            add(
                Finding(
                    label,
                    "lungs and pleura",
                    text,
                    side,
                    c,
                    r,
                    30.0,
                    local={
                        "thing": "a pulmonary nodule" if label == "lung_nodule" else "consolidation",
                        "location": (
                            f"{side.capitalize()} {lobe} lobe",
                            ["Right upper lobe", "Right lower lobe", "Left upper lobe", "Left lower lobe"],
                        ),
                        "appearance": (
                            "Solid" if label == "lung_nodule" else "Airspace opacity",
                            ["Solid", "Ground-glass", "Airspace opacity"],
                        ),
                        "implication": (
                            "Needs follow-up CT" if label == "lung_nodule" else "Pneumonia",
                            ["Needs follow-up CT", "Pneumonia", "Pulmonary embolism"],
                        ),
                    },
                )
            )
        elif label == "pleural_effusion":
            side = _pick(rng, ["right", "left"])
            region = organs[f"{side} lung"] & (_GRID[1] > 58)
            _paint(vol, region, 10.0)
            c = tuple(float(v) for v in np.argwhere(region).mean(axis=0))
            add(
                Finding(
                    label,
                    "lungs and pleura",
                    f"{side.capitalize()}-sided pleural effusion.",
                    side,
                    c,
                    None,
                    10.0,
                    local={
                        "thing": "a pleural effusion",
                        "location": (
                            f"{side.capitalize()} hemithorax",
                            ["Right hemithorax", "Left hemithorax", "Bilateral"],
                        ),
                        "appearance": ("Dependent fluid", ["Dependent fluid", "Loculated air", "Pleural mass"]),
                        "implication": (
                            "Heart failure or infection",
                            ["Heart failure or infection", "Pneumothorax", "Rib fracture"],
                        ),
                    },
                )
            )
        elif label == "cardiomegaly":
            add(
                Finding(
                    label,
                    "heart",
                    _pick(rng, ["The heart is enlarged.", "Cardiomegaly."]),
                    None,
                    (14.0, 40.0, 54.0),
                    None,
                    40.0,
                )
            )
        elif label == "emphysema":
            add(Finding(label, "lungs and pleura", "Diffuse emphysematous changes in both lungs.", hu=lung_hu))
        elif label == "lymphadenopathy":
            r = 3.0
            c = (34.0, 46.0, 48.0)
            _paint(vol, _ellipsoid(c, (r, r, r)) & organs["mediastinum"], 40.0)
            add(
                Finding(label, "lymphatic system", f"An enlarged mediastinal lymph node of {_cm(r)}.", None, c, r, 40.0)
            )
        elif label == "coronary_calcification":
            c, r = (14.0, 33.0, 50.0), 2.0
            _paint(vol, _ellipsoid(c, (r, r, r)), 600.0)
            add(Finding(label, "heart", "Coronary artery calcification.", None, c, r, 600.0))
    findings = {
        organ: " ".join(texts.get(organ, [])) or _pick(rng, options) for organ, options in _NORMAL_CHEST.items()
    }
    return _finish(rng, ph, findings)


def _finish(rng: np.random.Generator, ph: Phantom, findings: dict[str, str]) -> Phantom:
    ph.volume += rng.normal(0.0, 8.0, SHAPE).astype(np.float32)
    ph.findings_text = findings  # type: ignore[attr-defined]
    return ph


# --- records -------------------------------------------------------------------------------------

GLOBAL_QUESTION = (
    "Which of the following conditions are present in this scan? (Select all that apply, leave empty if none)"
)
_ABSENT = {
    "abdomen": ["a renal calculus", "a focal liver lesion", "a gallstone", "hydronephrosis"],
    "chest": ["a pulmonary nodule", "a pleural effusion", "consolidation"],
}


def _record(case_id: str, domain: str, ph: Phantom, rng: np.random.Generator, label_list: list[str]) -> dict:
    labels = sorted({f.label for f in ph.findings}, key=label_list.index)
    choices = list(label_list)
    rng.shuffle(choices)
    local: list[dict] = []
    next_id = 1
    chains = [f for f in ph.findings if f.local]
    present_things = {f.local["thing"] for f in chains}
    for finding in chains[:2]:
        root = next_id
        qs = [
            {
                "id": root,
                "follow_up": -1,
                "question": f"Is there {finding.local['thing']} in this scan?",
                "type": "finding_identification",
                "answer": "Yes",
            }
        ]
        parts = [
            ("location", "localization", "Where is it located?"),
            ("appearance", "appearance_or_pattern", "What is its appearance?"),
            ("implication", "clinical_implication", "What is the most likely clinical implication?"),
        ]
        for key, kind, question in parts:
            if finding.local.get(key):
                answer, options = finding.local[key]
                qs.append(
                    {
                        "id": root + len(qs),
                        "follow_up": root,
                        "question": question,
                        "type": kind,
                        "answer": answer,
                        "choices": list(options),
                    }
                )
        local += qs
        next_id += len(qs)
    absent = [t for t in _ABSENT[domain] if t not in present_things]
    if absent:
        thing = absent[int(rng.integers(len(absent)))]
        local.append(
            {
                "id": next_id,
                "follow_up": -1,
                "question": f"Is there {thing} in this scan?",
                "type": "finding_identification",
                "answer": "No",
            }
        )
    impression = [f.text for f in ph.findings] or ["No acute abnormality."]
    annotations = [
        {
            "label": f.label,
            "organ": f.organ,
            "side": f.side,
            "center": list(f.center) if f.center else None,
            "radius": f.radius,
            "hu": f.hu,
        }
        for f in ph.findings
    ]
    return {
        "case_id": case_id,
        "findings": ph.findings_text,
        "impression": impression,  # type: ignore[attr-defined]
        "global_vqa": [{"question": GLOBAL_QUESTION, "answer": labels, "choices": choices}],
        "local_vqa": local,
        "annotations": annotations,
    }


def _draw_labels(rng: np.random.Generator, domain: str) -> list[str]:
    pool = ABDOMEN_LABELS[:14] if domain == "abdomen" else CHEST_LABELS[:7]
    count = int(rng.choice([0, 1, 1, 2, 2, 3]))
    labels = [str(v) for v in rng.choice(pool, size=count, replace=False)]
    if {"hepatic_cyst", "hepatic_lesion"} <= set(labels):
        labels.remove("hepatic_lesion")
    return labels


def _write_nifti(volume: np.ndarray, path: Path) -> None:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.clip(np.rint(volume), -1024, 3071).astype(np.int16))
    image.SetSpacing(SPACING)
    image.SetOrigin((-SHAPE[2] * SPACING[0] / 2, -SHAPE[1] * SPACING[1] / 2, 0.0))
    tmp = path.with_name(path.name + ".tmp.nii.gz")
    sitk.WriteImage(image, str(tmp), useCompression=True)
    os.replace(tmp, path)


def record_file(split: str, domain: str, layout: str = "flare2025") -> str:
    """Where a demo case's record goes, relative to the root, in the published layout."""
    if split == "validation":
        return "validation/val.json"
    return "train/CT-AMOS-Tr.json" if domain == "abdomen" else f"train/{LAYOUTS[layout]}"


def generate_demo(out_dir: str | Path, *, cases: int = 12, seed: int = 0, validation_fraction: float = 1 / 3,
                  layout: str = "flare2025") -> Path:
    """Write the synthetic data set (``cases`` in total, about a third of them validation) and return
    its root. Same seed, same files; cases alternate abdomen (CT-AMOS-like) and chest (CT-RATE-like).
    ``layout``: ``flare2025`` (the CT-RATE file name with a space) or ``flare2026``."""
    if cases < 2:
        raise ValueError("the demo data set needs at least 2 cases (one train, one validation)")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    root = Path(out_dir)
    n_val = max(1, round(cases * validation_fraction))
    groups: dict[tuple[str, str], list[dict]] = {}
    for index in range(cases):
        rng = np.random.default_rng([seed, index])
        split = "validation" if index >= cases - n_val else "train"
        domain = "abdomen" if index % 2 == 0 else "chest"
        number = index + 1
        case_id = (
            f"amos_{seed % 100:02d}{number:03d}.nii.gz"
            if domain == "abdomen"
            else f"{'valid' if split == 'validation' else 'train'}_{seed}_{number}_a_1.nii.gz"
        )
        labels = _draw_labels(rng, domain)
        phantom = (_abdomen if domain == "abdomen" else _chest)(rng, labels)
        images = root / IMAGE_FOLDERS[split, domain]
        images.mkdir(parents=True, exist_ok=True)
        _write_nifti(phantom.volume, images / case_id)
        record = _record(case_id, domain, phantom, rng, ABDOMEN_LABELS if domain == "abdomen" else CHEST_LABELS)
        groups.setdefault(record_file(split, domain, layout), []).append(record)
    for name, records in groups.items():
        _write_json(root / name, records)
    for other in set(LAYOUTS.values()) - {LAYOUTS[layout]}:  # a rerun with the other layout into this folder
        (root / "train" / other).unlink(missing_ok=True)
    _write_json(
        root / "demo_manifest.json",
        {"generator": "harness_plugins.tasks.flare.demo", "version": VERSION, "cases": cases, "seed": seed,
         "layout": layout},
    )
    return root


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


DEMO_KEYWORD_CASES = 36
DEMO_KEYWORD_SEED = 0
"""What ``--data demo`` means: 36 cases of seed 0 (12 in validation). The shipped demo model was trained on
seed 1000 (scripts/train_demo.sh), so ``--data demo`` evaluates it on cases it never saw."""


def _is_current(root: Path, cases: int, seed: int) -> bool:
    try:
        meta = json.loads((root / "demo_manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = (VERSION, cases, seed)
    return isinstance(meta, dict) and (meta.get("version"), meta.get("cases"), meta.get("seed")) == wanted


def ensure_demo(out_dir: str | Path, *, cases: int = DEMO_KEYWORD_CASES, seed: int = DEMO_KEYWORD_SEED) -> Path:
    """The demo set in ``out_dir``, generated unless a complete one of this version is there.

    A new set is written beside the folder and swapped in whole, so an older layout never mixes with
    the new one; a lock keeps two runs from generating it at once.
    """
    from filelock import FileLock

    root = Path(out_dir)
    if _is_current(root, cases, seed):
        return root
    fresh = root.with_name(f".{root.name}.{os.getpid()}.new")
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(root.parent / f".{root.name}.lock"):
            if _is_current(root, cases, seed):
                return root
            generate_demo(fresh, cases=cases, seed=seed)
            if root.exists():
                old = root.with_name(f".{root.name}.{os.getpid()}.old")
                os.replace(root, old)
                shutil.rmtree(old)
            os.replace(fresh, root)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        from harness.errors import HarnessError

        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise HarnessError(f"cannot write the demo data set into {root} ({reason}); free space there, or set "
                           "HARNESS_CACHE to a writable folder") from None
    return root
