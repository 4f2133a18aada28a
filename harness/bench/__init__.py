"""`harness bench`: throughput of the real architectures, at random initialisation, on whatever device is there.

    >>> from harness.bench.suite import run_bench
    >>> result = run_bench("cpu")          # tiny configurations of the same recipes, a few seconds  # doctest: +SKIP
    >>> result["generation"]["rows"][0]["decode_tokens_per_s"]                                     # doctest: +SKIP

One module per measurement: `vision` (tower + projector volumes/s), `generation` (the VLM's prefill and
decode), `judge` (the GREEN judge on the Llama-2-7B architecture), `training` (the published recipe's
trainable parts); `shapes` holds the full and the tiny sizes, `device` the clock, memory and bf16 peaks,
`prompts` the FLARE- and GREEN-shaped inputs, `report` the table. Nothing here downloads anything: the
architectures are built from their recipes (`harness.build_model`) with fresh weights, because speed
depends on shapes, not on weight values.
"""
