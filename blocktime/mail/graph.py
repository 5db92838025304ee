"""The organizer's Outlook / Microsoft 365 mailbox through Microsoft Graph mail (`Mail.ReadWrite`),
on the Outlook sign-in the calendar uses. The same surface as `inbox.ImapMailbox`:

- new mail: `GET /me/mailFolders/{folder}/messages/delta` rounds (message: delta), the round's
  `@odata.deltaLink` kept in the store once the pass is done, so a crash re-reads, never skips;
  with it the high-water mark (the newest `receivedDateTime` listed): when Graph has let the delta
  state expire (410 `syncStateNotFound`, or 400/404 for it, typically after a holiday with the
  daemon off), a new round starts from that mark (`$filter=receivedDateTime ge …`, a day before
  it), and the store's Message-IDs keep any message from being handled twice;
- the message itself: `GET /me/messages/{id}/$value` (its MIME content), read as IMAP mail is;
- handled mail: category `blocktime` (PATCH), or moved to `processed_folder` (message: move).
Graph has no UIDs: each pass numbers what it lists after the last number used (the store keeps
Message-IDs, so a re-listed message is never handled twice). No IDLE: the regular pass reads it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from blocktime.config.schema import InboxConfig
from blocktime.errors import ServerError
from blocktime.mail.imap import Envelope, InboxError
from blocktime.mail.incoming import MAX_BYTES, one_line

SELECT = "internetMessageId,from,subject,receivedDateTime"
CATEGORY = "blocktime"
#: how far before the high-water mark a restarted round reads (clock skew, mail delivered late or
#: moved into the folder later, e.g. from Junk); Message-IDs keep a re-read message from a second turn
MARGIN = timedelta(days=1)
log = logging.getLogger("blocktime.inbox")


class GraphMailbox:
    """One folder of the signed-in user's mailbox."""

    uidvalidity = 0
    idle_supported = False
    keywords = True
    capabilities: frozenset[str] = frozenset({"MOVE"})

    def __init__(self, config: InboxConfig, http: Any, base: str, link: tuple[Callable[[], str | None],
                                                                               Callable[[str], None]]) -> None:
        self.config = config
        self.http = http
        self.base = base.rstrip("/")
        self._load, self._save = link
        self._ids: dict[int, str] = {}
        self._next: str | None = None
        self._mark: str | None = None  # the newest receivedDateTime listed (ISO, as Graph writes it)
        self._done: str | None = None  # ... when the round reached its deltaLink (what is kept)

    @property
    def where(self) -> str:
        return "Microsoft Graph mail"

    @property
    def folder(self) -> str:
        name = self.config.folder
        return "inbox" if name.upper() == "INBOX" else name  # the well-known folder name

    def _get(self, url: str, params: dict[str, str] | None, what: str) -> Any:
        return self._ok(self._request(url, params), what)

    def _request(self, url: str, params: dict[str, str] | None = None) -> Any:
        try:
            return self.http.request("GET", url, params=params)
        except ServerError as exc:
            raise InboxError(exc.message, exc.hint) from None

    def _ok(self, r: Any, what: str) -> Any:
        if r.status_code != 200:
            try:
                self.http.fail(r, what)
            except ServerError as exc:
                raise InboxError(exc.message, exc.hint or "check [inbox] folder and the Outlook sign-in") from None
        return r

    def open(self) -> None:
        """Check the sign-in and the folder (one cheap request)."""
        self._get(f"{self.base}/me/mailFolders/{quote(self.folder)}", {"$select": "id,displayName"},
                  f"opening the folder {self.config.folder!r}")

    def envelopes(self, after: int, limit: int = 5000) -> list[Envelope]:
        """Messages added since the last completed pass (all of the folder on the first one; from
        the high-water mark when the stored delta state has expired)."""
        url, self._mark = _stored(self._load())
        self._done = self._mark  # the mark of the last finished round: kept while a round is under way
        params: dict[str, str] | None = None
        first: Any = None  # the stored link's page, read once
        if url:
            r = self._request(url)
            if _expired(r):
                log.warning("the mail delta state expired: reading the folder again from %s",
                            self._mark or "its start")
                url = None
            else:
                first = self._ok(r, "listing new mail").json()
        if not url:
            url, params = self._round(self._mark)
        out: list[Envelope] = []
        while url and len(out) < limit:
            page = first if first is not None else self._get(url, params, "listing new mail").json()
            first, params = None, None
            for row in page.get("value", []):
                if "@removed" in row or not isinstance(row.get("id"), str):
                    continue
                uid = after + len(out) + 1
                self._ids[uid] = row["id"]
                out.append(Envelope(uid, 0, _headers(row)))
                received = row.get("receivedDateTime")
                if isinstance(received, str) and (self._mark is None or received > self._mark):
                    self._mark = received
            if "@odata.deltaLink" in page:
                self._next, url = str(page["@odata.deltaLink"]), None
                self._done = self._mark
            else:
                url = page.get("@odata.nextLink")
                self._next = url
        return out

    def _round(self, mark: str | None) -> tuple[str, dict[str, str]]:
        """A new delta round: the whole folder, or what arrived since an hour before `mark`."""
        params = {"$select": SELECT}
        if mark:
            since = datetime.fromisoformat(mark.replace("Z", "+00:00")) - MARGIN
            params["$filter"] = f"receivedDateTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        return f"{self.base}/me/mailFolders/{quote(self.folder)}/messages/delta", params

    def body(self, uid: int) -> tuple[bytes, bool]:
        """The message's MIME content (its first MAX_BYTES)."""
        r = self._get(f"{self.base}/me/messages/{quote(self._ids[uid])}/$value", None, "reading a message")
        data = bytes(r.content or b"")
        return data[:MAX_BYTES], len(data) > MAX_BYTES

    def mark(self, uids: list[int]) -> None:
        """Category `blocktime`, or a move to `processed_folder`; then remember where the round ended."""
        target = self._processed() if self.config.processed_folder else None
        for uid in uids:
            mid = quote(self._ids[uid])
            try:
                if target:
                    self.http.request("POST", f"{self.base}/me/messages/{mid}/move", body={"destinationId": target})
                else:
                    self.http.request("PATCH", f"{self.base}/me/messages/{mid}", body={"categories": [CATEGORY]})
            except ServerError:
                pass  # the store remembers the message; marking is a courtesy
        if self._next:
            self._save(json.dumps({"link": self._next, "mark": self._done}))

    def _processed(self) -> str | None:
        name = self.config.processed_folder or ""
        flt = "displayName eq '" + name.replace("'", "''") + "'"
        r = self._get(f"{self.base}/me/mailFolders", {"$filter": flt}, "finding the processed folder")
        found = r.json().get("value", [])
        if found:
            return str(found[0]["id"])
        made = self.http.request("POST", f"{self.base}/me/mailFolders", body={"displayName": name})
        return str(made.json()["id"]) if made.status_code in (200, 201) else None

    def close(self) -> None:
        self.http.close()


def _stored(value: str | None) -> tuple[str | None, str | None]:
    """(delta link, high-water mark) as kept in the store (a bare link, as earlier releases kept it)."""
    if not value:
        return None, None
    if value.startswith("{"):
        try:
            doc = json.loads(value)
            return doc.get("link") or None, doc.get("mark") or None
        except (ValueError, AttributeError):
            return None, None
    return value, None


def _expired(r: Any) -> bool:
    """Whether a delta link's answer says its state is gone (Graph: 410 `syncStateNotFound`; 400
    and 404 seen for it too). The first page is read again by the round, so it is not kept."""
    if r.status_code in (404, 410):
        return True
    if r.status_code != 400:
        return False
    try:
        code = str(((r.json() or {}).get("error") or {}).get("code", ""))
    except (ValueError, AttributeError):
        return False
    return code.lower() in ("syncstatenotfound", "resyncrequired", "syncstateinvalid")


def _headers(row: dict[str, Any]) -> bytes:
    """The few header lines triage reads, rebuilt from the listing (one line each: no injection)."""
    sender = ((row.get("from") or {}).get("emailAddress") or {}).get("address") or ""
    lines = [f"From: {one_line(str(sender), 320)}", f"Subject: {one_line(str(row.get('subject') or ''), 998)}"]
    if row.get("internetMessageId"):
        lines.append(f"Message-ID: {one_line(str(row['internetMessageId']), 500)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def open_graph(config: InboxConfig, data_dir: Any, token_store: str, base: str,
               link: tuple[Callable[[], str | None], Callable[[str], None]]) -> GraphMailbox:
    """The mailbox on the stored Outlook sign-in (`blocktime auth outlook`)."""
    from pathlib import Path

    from blocktime.backends.graph_http import GraphClient
    from blocktime.config.auth import BearerAuth, TokenStore

    http = GraphClient(BearerAuth(TokenStore(Path(str(data_dir)), "outlook", token_store)), base)
    box = GraphMailbox(config, http, base, link)
    box.open()
    return box
