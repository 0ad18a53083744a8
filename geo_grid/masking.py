"""Personal data shown to people without a dispatcher-or-higher token is masked here, and only here."""

from __future__ import annotations

import re

_PHONE = re.compile(r"^(\d{3})\d+(\d{4})$")


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` → `138****5678`; anything not phone-shaped is hidden entirely."""
    if not phone:
        return phone
    m = _PHONE.match(phone.replace(" ", "").replace("-", ""))
    return f"{m.group(1)}****{m.group(2)}" if m else "****"
