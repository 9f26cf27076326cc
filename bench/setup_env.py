"""What every benchmark process needs before it talks to Temporal: keys and the converter.

The benchmarks run their own servers and stores, so they use throw-away keys of their own
(unless the environment already names keys), never a deployment's.
"""

from __future__ import annotations

import os
import secrets

from temporalio.converter import DataConverter

__all__ = ["bench_converter", "ensure_bench_keys"]


def ensure_bench_keys() -> None:
    """Submission and payload keys for this run, inherited by the processes it starts."""
    os.environ.setdefault("JY231_SUBMISSION_KEYS", f"bench-s1:{secrets.token_hex(32)}")
    os.environ.setdefault("JY231_PAYLOAD_KEYS", f"bench-p1:{secrets.token_hex(32)}")


def bench_converter() -> DataConverter:
    """The project's own converter (payloads encrypted with this run's keys)."""
    ensure_bench_keys()
    from system.codec import default_data_converter

    return default_data_converter()
