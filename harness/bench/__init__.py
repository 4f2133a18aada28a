"""`harness bench`: throughput of the real architectures, at random initialisation, on whatever device is there.

    >>> from harness.bench.suite import run_bench
    >>> result = run_bench("cpu")          # tiny configurations of the same recipes, a few seconds  # doctest: +SKIP
    >>> result["generation"]["rows"][0]["decode_tokens_per_s"]                                     # doctest: +SKIP

What is measured comes from the plugins (`workload`): the zoo model, the judge architecture and the tasks whose
prompts are timed are the ones whose registrations declare ``bench`` metadata, unless ``--model``, ``--judge``
or ``--task`` name others. One module per measurement: `vision` (tower + projector volumes/s), `generation`
(the VLM's prefill and decode on the tasks' prompts), `judge` (a GREEN judge on its declared architecture),
`training` (the recipe's trainable parts); `shapes` holds the full and the tiny sizes, `device` the clock,
memory and bf16 peaks, `prompts` the tokenizer and the inputs, `report` the table. Nothing here downloads
anything: the architectures are built from their recipes (`harness.build_model`) with fresh weights, because
speed depends on shapes, not on weight values.
"""
