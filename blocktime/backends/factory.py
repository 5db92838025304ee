"""Pick and open the backend that `[calendar] provider` names (see calendars/*.toml)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blocktime.backends.base import CalendarBackend

if TYPE_CHECKING:
    from blocktime.config.schema import CalendarConfig

#: principal and calendar home of the CalDAV account, kept between commands (not for the embedded
#: calendar: it listens on a new port every run)
DISCOVERY_FILE = "discovery.json"

#: the span calendarView/delta covers for Outlook: changes outside it are not reported
GRAPH_WINDOW = (timedelta(days=30), timedelta(days=400))


def open_backend(cal: CalendarConfig, data_dir: Any, now: datetime) -> tuple[CalendarBackend, Any]:
    """(backend, embedded server or None); the caller closes the backend and stops the server."""
    from blocktime.backends.caldav import CalDAVBackend

    if cal.provider == "local" and cal.url is None:
        from blocktime.backends.local import LocalServer

        server = LocalServer(data_dir)
        server.start()
        try:
            return CalDAVBackend(server.url, server.username, server.password), server
        except BaseException:
            server.stop()
            raise
    if cal.provider in ("google", "outlook"):
        from blocktime.config.auth import BearerAuth, TokenStore

        auth = BearerAuth(TokenStore(data_dir, cal.provider, cal.token_store))
        if cal.provider == "google":
            from blocktime.backends.google import GOOGLE_CALDAV, GoogleBackend

            assert cal.username is not None  # config requires it
            google = GoogleBackend(cal.username, auth, base=cal.url or GOOGLE_CALDAV, verify_tls=cal.verify_tls)
            google.discovery_file = Path(data_dir) / DISCOVERY_FILE
            return google, None
        from blocktime.backends.graph import GraphBackend, graph_base

        back, ahead = GRAPH_WINDOW
        return GraphBackend(auth, base=graph_base("outlook", cal.url), verify_tls=cal.verify_tls,
                            window=(now - back, now + ahead)), None
    assert cal.url is not None  # config requires it for caldav
    backend = CalDAVBackend(cal.url, cal.username, cal.login_password(), verify_tls=cal.verify_tls)
    backend.discovery_file = Path(data_dir) / DISCOVERY_FILE
    return backend, None
