"""An example med3d-harness plugin: the entry point module named in pyproject.toml.

It imports nothing heavy: every factory is a lazy ``"module:attribute"`` string, so ``harness list``
shows these components without importing torch.
"""

from __future__ import annotations

from harness import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_encoders(register):
    register(
        "example-conv3d",
        "harness_plugin_example.encoder:TinyConv3dEncoder",
        description="Two strided 3D convolutions (example plugin)",
    )


@hookimpl
def register_projectors(register):
    register(
        "example-pool",
        "harness_plugin_example.projector:PoolingProjector",
        description="Adaptive token pooling + MLP (example plugin)",
    )


@hookimpl
def register_tasks(register):
    register(
        "example_lesion_count",
        "harness_plugin_example.task:LesionCountTask",
        description="Count the lesions in a 3D volume; exact match and count MAE (example plugin)",
        conformance={"style": "chat"},
    )


@hookimpl
def register_judges(register):
    register(
        "example-overlap",
        "harness_plugin_example.judge:SentenceOverlapJudge",
        description="Rule-based GREEN judge: shared sentences are matched findings (example plugin)",
    )
