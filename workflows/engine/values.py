"""Values as JSON holds them."""

import math
from typing import Any


def finite_only(value: Any) -> Any:
    """`value` with every NaN or infinite float in it (JSON has no number for them) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_only(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_only(item) for item in value]
    return value
