"""The bench result as one table: a row per figure, the JSON's key path beside each."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def figure_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measurement, point, figures) rows for `table`."""
    rows: list[tuple[str, str, str]] = []
    for r in result.get("vision", {}).get("rows", []):
        figures = r.get("status") or f"{_fmt(r['volumes_per_s'])} volumes/s, peak {_fmt(r['peak_memory_gib'])} GiB"
        rows.append(("vision tower + projector", f"batch {r['batch']}", figures))
    if "generation" in result:
        rows += _generation_rows(result["generation"])
    if "judge" in result:
        rows += _judge_rows(result["judge"])
    if "training" in result:
        rows.append(_training_row(result["training"]))
    return rows


def _generation_rows(generation: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for r in generation["rows"]:
        point = f"{r['task']} batch {r['batch']} {r['cache']} cache"
        figures = r.get("status") or (
            f"prefill {_fmt(r['prefill_tokens_per_s'])} tok/s, decode {_fmt(r['decode_tokens_per_s'])} tok/s, "
            f"{_fmt(r['seconds_per_request'])} s/request, peak {_fmt(r['peak_memory_gib'])} GiB")
        rows.append(("generation", point, figures))
    case = generation["per_case"]
    requests = " + ".join(f"{n} {task}" for task, n in generation["requests_per_case"].items())
    rows.append(("generation", f"case ({requests})", case.get("status") or f"{_fmt(case['seconds_per_case'])} s/case"))
    return rows


def _judge_rows(judge: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for r in judge["rows"]:
        figures = r.get("status") or (f"{_fmt(r['seconds_per_sample'])} s/sample, {_fmt(r['tokens_per_s'])} tok/s, "
                                      f"peak {_fmt(r['peak_memory_gib'])} GiB")
        rows.append(("GREEN judge", f"{r['variant']} batch {r['batch']}", figures))
    best, reference = judge["best"], judge.get("reference")
    if best:
        versus = f" vs {reference['seconds_per_sample']} s ({reference.get('source', '')})" if reference else ""
        rows.append(("GREEN judge", f"best ({best['variant']}, batch {best['batch']})",
                     f"{_fmt(best['seconds_per_sample'])} s/sample{versus}; {_fmt(best['seconds_per_case'])} s/case "
                     f"({best['calls_per_case']} judged samples)"))
    return rows


def _training_row(t: dict[str, Any]) -> tuple[str, str, str]:
    return ("training", f"{t['backend']}, batch {t['batch']}", t.get("status") or (
        f"{_fmt(t['samples_per_s'])} samples/s, {_fmt(t['tokens_per_s'])} tok/s, MFU {_fmt(t['mfu'])} "
        f"(peak {_fmt(t['bf16_peak_tflops'])} TFLOPS bf16), peak {_fmt(t['peak_memory_gib'])} GiB"))


def table(result: dict[str, Any]) -> str:
    from tabulate import tabulate

    device = result["device"]
    head = (f"{result['model']}, {result['scale']} configuration on {device['name']} ({device['description']}), "
            f"{result['date']}, "
            f"torch {result['versions']['torch']}, transformers {result['versions']['transformers']}")
    if result["scale"] == "tiny":
        head += "\n(tiny configurations: these figures prove the code path; they are not the real models' speed)"
    return head + "\n" + tabulate(figure_rows(result), headers=["measurement", "point", "figures"])
