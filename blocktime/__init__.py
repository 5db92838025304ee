"""blocktime: fixed on-site training blocks with a hard end, and new slots for the part that is left.

The public surface is small and cheap to import (no calendar or network libraries here): its names
are loaded on first use (PEP 562), so `import blocktime.cli` for `--help` does not build the domain
model's dataclasses.
"""

import typing

if typing.TYPE_CHECKING:
    from blocktime.core.model import (
        Block,
        Busy,
        Engagement,
        Interval,
        Organizer,
        Policy,
        Reason,
        WeeklyHours,
    )
    from blocktime.errors import BadInput, BlocktimeError, ConflictError, ServerError

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "Block",
    "BlocktimeError",
    "Busy",
    "ConflictError",
    "Engagement",
    "Interval",
    "Organizer",
    "Policy",
    "Reason",
    "ServerError",
    "WeeklyHours",
    "__version__",
]

_WHERE = {"BadInput": "errors", "BlocktimeError": "errors", "ConflictError": "errors", "ServerError": "errors"}


def __getattr__(name: str) -> object:
    if name not in __all__ or name == "__version__":
        raise AttributeError(f"module 'blocktime' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"blocktime.{_WHERE.get(name, 'core.model')}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
