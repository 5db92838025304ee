"""What a booking's writes will need, loaded in a thread while the calendar server answers.

Before its first PUT a booking waits for discovery, the calendar list and MKCALENDAR: three round
trips, ~0.15 s with a server 20 ms away. Its writes then need icalendar, the mail modules and
Babel's locale data, ~0.1 s of loading on first use. Loaded in a thread during those waits, that
time comes off the booking (issue 27). Two threads importing modules that import each other could
meet in an import cycle, which Python stops as a deadlock: blocktime's own modules have no cycle
(`make lint` keeps it so), the libraries' are theirs to keep.
"""

from __future__ import annotations

import importlib
import threading
from datetime import date

MODULES = ("lxml.etree", "icalendar", "email.mime.multipart", "email.mime.nonmultipart", "email.generator",
           "babel.dates", "babel.units")
#: blocktime's own modules for the writes (its imports have no cycle: `make lint`'s contract)
OWN = ("concurrent.futures", "blocktime.ics.event", "blocktime.ics.itip", "blocktime.notes", "blocktime.mail.imip",
       "blocktime.usecases.letters", "blocktime.usecases.messages", "blocktime.usecases.outgoing",
       "blocktime.usecases.review")


def start(language: str) -> threading.Thread:
    """Load the libraries and `language`'s locale data in a thread (the process waits for it at
    exit; it takes a fraction of a second)."""
    thread = threading.Thread(target=_load, args=(language,), name="warm-up")
    thread.start()
    return thread


def _load(language: str) -> None:
    try:
        for name in MODULES + OWN:
            importlib.import_module(name)
        from babel.dates import format_date
        from babel.units import format_unit

        format_date(date(2027, 1, 4), format="full", locale=language)  # Babel keeps the data it loaded
        format_unit(1, "duration-hour", length="long", locale=language)
    except Exception:  # only a head start: the writes import and report for themselves
        pass
