"""blocktime: fixed on-site training blocks with a hard end, and new slots for the part that is left.

The public surface is small and cheap to import (no calendar or network libraries here).
"""

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
