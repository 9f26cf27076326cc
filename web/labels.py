"""Printable chain-of-identity labels: PNG with the COI, the unit id and a QR code.

The QR code holds the unit id alone (it begins with the COI), so a keyboard-wedge scanner
types exactly what the bedside check's unit field expects. No name, initials or birth date
is printed: the COI and the unit id are the identity on the bag.
"""

from __future__ import annotations

import io

import segno
from PIL import Image, ImageDraw, ImageFont

from domain.custody import CustodyUnit, format_coi

__all__ = ["label_png", "label_text"]

_WIDTH, _HEIGHT = 900, 420
_MARGIN = 24


def label_text(subject_id: str, coi: str, unit: CustodyUnit | None) -> list[str]:
    """The human-readable lines of a label, top to bottom."""
    lines = [f"COI {format_coi(coi)}"]
    if unit is None:
        lines += [f"Subject {subject_id}", "Wristband / record label", "JY231 · NCT06243159"]
        return lines
    what = "Apheresis material (fresh)" if unit.kind == "apheresis" else "JY231 CAR-T product"
    lines += [f"Unit {unit.unit_id}", what, f"Subject {subject_id}"]
    if unit.lot:
        lines.append(f"Lot {unit.lot}")
    if unit.expires_on:
        lines.append(f"Expires {unit.expires_on.isoformat()}")
    lines.append("For autologous use only · NCT06243159")
    return lines


def label_png(subject_id: str, coi: str, unit: CustodyUnit | None) -> bytes:
    code = segno.make(unit.unit_id if unit else coi, error="m")
    qr_buffer = io.BytesIO()
    code.save(qr_buffer, kind="png", scale=8, border=2)
    qr_buffer.seek(0)
    qr = Image.open(qr_buffer).convert("RGB")
    side = _HEIGHT - 2 * _MARGIN
    qr = qr.resize((side, side), Image.Resampling.NEAREST)

    image = Image.new("RGB", (_WIDTH, _HEIGHT), "white")
    image.paste(qr, (_MARGIN, _MARGIN))
    draw = ImageDraw.Draw(image)
    draw.rectangle((2, 2, _WIDTH - 3, _HEIGHT - 3), outline="black", width=3)
    big = ImageFont.load_default(size=34)
    small = ImageFont.load_default(size=24)
    x = _MARGIN * 2 + side
    y = _MARGIN
    for index, line in enumerate(label_text(subject_id, coi, unit)):
        font = big if index == 0 else small
        draw.text((x, y), line, fill="black", font=font)
        y += 52 if index == 0 else 38
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
