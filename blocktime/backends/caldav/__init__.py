"""CalDAV backend: conditional PUT/DELETE, REPORTs and discovery on `davhttp`'s wire; python `caldav`
where its knowledge of servers is needed (discovery one PROPFIND cannot settle, creating a calendar).

Creation is a PUT to a UID-derived href with ``If-None-Match: *`` (RFC 7232 §3.2): one request,
never an overwrite. Updates and deletes carry ``If-Match`` with the stored ETag. Changes come from
the sync-collection REPORT (RFC 6578), or from a full listing where the server has no sync tokens.
"""

from blocktime.backends.caldav.sync import Sync

__all__ = ["CalDAVBackend"]


class CalDAVBackend(Sync):
    """A CalDAV account: every calendar is read for busy time; blocks go to one of them.

    Its concerns, one module each: `connection` (the wire: retries, throttling, errors),
    `discovery` (principal, home, calendars), `objects` (conditional PUT/DELETE, GET, REPORTs)
    and `sync` (change tags, sync-collection)."""
