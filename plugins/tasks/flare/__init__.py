"""FLARE 2025/2026 Task 5 (MLLM-3D) as one task package; the core reaches it only through the task contract.

The two tasks (`tasks.FlareReportTask`, `tasks.FlareVQATask`, on `tasks.FlareTask`), and one module per
concept: `records` (cases, domain, case ids), `validate`, `layout` (record files and image roots),
`catalog` (named data sets, the official hub id), `loading`, `chains` (local question chains), `windows`
(reference HU windows), `preprocess`, `demo`, `vqa` and `report` (the official scorers), `files` (the
reference scripts' CSV files). Importing this package imports nothing heavy."""
