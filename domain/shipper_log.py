"""Shipper data-logger exports (CSV) read into temperature readings; pure, text in.

Loggers differ in their column names; the first row names the columns, one of them a time
(ISO 8601 with a UTC offset) and one a temperature in °C.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

from domain.custody_commands import UploadedReading
from domain.errors import ValueOutOfRange

__all__ = ["MAX_READINGS", "parse_logger_csv"]

MAX_READINGS = 20_000
_TIME_COLUMNS = ("timestamp", "time", "datetime", "recorded_at", "at")
_TEMP_COLUMNS = ("celsius", "temperature_c", "temp_c", "temperature", "temp")


def _column(header: list[str], names: tuple[str, ...], what: str) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise ValueOutOfRange(
        f"the CSV header has no {what} column (one of: {', '.join(names)})", field="csv"
    )


def parse_logger_csv(text: str) -> tuple[UploadedReading, ...]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValueOutOfRange("the CSV needs a header row and at least one reading", field="csv")
    if len(rows) - 1 > MAX_READINGS:
        raise ValueOutOfRange(f"the CSV holds more than {MAX_READINGS} readings", field="csv")
    header, body = rows[0], rows[1:]
    t_col = _column(header, _TIME_COLUMNS, "time")
    c_col = _column(header, _TEMP_COLUMNS, "temperature (°C)")
    out: list[UploadedReading] = []
    for line, row in enumerate(body, start=2):
        try:
            at = datetime.fromisoformat(row[t_col].strip())
            celsius = float(row[c_col].strip())
        except (IndexError, ValueError) as exc:
            raise ValueOutOfRange(
                f"line {line}: needs an ISO 8601 time and a number of °C", field="csv"
            ) from exc
        if at.tzinfo is None:
            raise ValueOutOfRange(f"line {line}: the time has no UTC offset", field="csv")
        if not math.isfinite(celsius) or not -273.15 <= celsius <= 100:
            raise ValueOutOfRange(f"line {line}: {celsius} °C is not a reading", field="csv")
        out.append(UploadedReading(at=at, celsius=celsius))
    return tuple(out)
