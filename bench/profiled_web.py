"""The web app under cProfile: ``python bench/profiled_web.py OUT.prof PORT [uvicorn options]``.

Used by ``rest_vs_gateway.py --profile-web``. uvicorn re-raises the SIGTERM it caught after its
graceful shutdown; the handler installed here turns that into ``SystemExit`` so the profile of
the whole run is written (``python -m pstats OUT.prof`` reads it).
"""

from __future__ import annotations

import cProfile
import signal
import sys
from typing import Any

import uvicorn


def _exit(*_: Any) -> None:
    sys.exit(0)


def main() -> None:
    out, port, *rest = sys.argv[1:]
    options = dict(arg.removeprefix("--").split("=", 1) for arg in rest)
    signal.signal(signal.SIGTERM, _exit)
    profile = cProfile.Profile()
    profile.enable()
    try:
        uvicorn.run("web.main:app", port=int(port), log_level="warning", **options)  # type: ignore[arg-type]
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
