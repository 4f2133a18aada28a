"""FLARE 2025/2026 Task 5 (MLLM-3D) as one task package: records, layouts, named data sets, the demo
generator, preprocessing, VQA and per-organ report scoring, the reference scripts' CSV files, and the two
tasks (`tasks.FlareReportTask`, `tasks.FlareVQATask`). Importing this package imports nothing heavy."""
