"""Reading what `harness score` scores for the FLARE tasks: the reference scripts' CSV files and FLARE records.

The CSVs are read with pandas' defaults, as the reference scorers read them, so their quirks carry over:
an empty cell (or "None", "NA", "nan", ...) becomes NaN, which the report scorer turns into "" and the VQA
scorer into the label "nan".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness_plugins.tasks.flare.records import Case

REPORT_COLUMNS = ("name", "gt", "generated")
VQA_COLUMNS = ("case_id", "scope", "question_id", "question", "prediction")
CSV_KINDS = {"flare_report": "report (name, gt, generated)", "flare_vqa": "VQA (case_id, scope, question_id, ...)"}
"""Task -> the reference CSV it scores, as error messages name it."""


def _read_csv(path: str | Path, **options: Any) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise HarnessError(f"predictions file {path} does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path} is not a readable CSV file: {str(exc).splitlines()[0]}") from None


def csv_columns(path: str | Path) -> list[str]:
    return [str(c) for c in _read_csv(path, nrows=0).columns]


def csv_kind(path: str | Path) -> str:
    """The task whose reference CSV ``path`` is, by its columns (a report CSV's first)."""
    columns = csv_columns(path)
    for kind, wanted in (("flare_report", REPORT_COLUMNS), ("flare_vqa", VQA_COLUMNS)):
        if set(wanted) <= set(columns):
            return kind
    raise HarnessError(
        f"{path} has the columns {', '.join(columns) or 'none'}; a report CSV needs {', '.join(REPORT_COLUMNS)} "
        f"and a VQA CSV {', '.join(VQA_COLUMNS)}"
    )


def _require(path: str | Path, columns: list[str], wanted: tuple[str, ...], kind: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise HarnessError(
            f"{path} lacks the column(s) {', '.join(missing)}: a {kind} CSV has the columns {', '.join(wanted)}"
        )


def read_report_csv(path: str | Path) -> list[tuple[str, str, str]]:
    """(name, gt, generated) rows of a reference report CSV; empty cells become "" as in the reference.

    Cells are read as text (``dtype=str``): a numeric-looking report stays as written ("1", not 1.0)."""
    frame = _read_csv(path, dtype=str)
    _require(path, list(frame.columns), REPORT_COLUMNS, "report")
    frame = frame.fillna("")
    return [(str(r["name"]), str(r["gt"]), str(r["generated"])) for _, r in frame.iterrows()]


def read_vqa_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a reference VQA CSV, values as pandas reads them (empty prediction -> NaN, kept)."""
    frame = _read_csv(path)
    _require(path, list(frame.columns), VQA_COLUMNS, "VQA")
    return [{c: row[c] for c in VQA_COLUMNS} for _, row in frame.iterrows()]


def read_records(path: str | Path) -> list[Case]:
    """FLARE records (ground truth) from a JSON file, validated as `loading` validates them; the images need
    not exist."""
    from harness_plugins.tasks.flare.loading import read_json

    return read_json(path)
