"""The Graph stand-in with mail: one folder of messages (tests/recorded/graph/messages-delta.json).

Documented behaviour followed (pages cited in tests/recorded/README.md): `messages/delta` rounds
with `@odata.nextLink` paging and a closing `@odata.deltaLink` whose `$deltatoken` lists only
what was added since; a delta state Graph has dropped answers 410 `SyncStateNotFound`
(`expire_mail_state()`: every link issued so far is gone, as after a holiday with the daemon off);
a new round takes `$filter=receivedDateTime ge …`; a message's MIME content at `/me/messages/{id}/$value`; PATCH of
`categories`; `move` returns the message under a new id in the destination folder; `mailFolders`
with a `displayName` filter and POST to create one.
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from tests.backends.standin_graph import Graph
from tests.backends.standin_http import Reply, Request

ROW = json.loads((Path(__file__).resolve().parents[1] / "recorded" / "graph" / "messages-delta.json").read_text())

PAGE = 2  # small pages, so that paging is exercised


class GraphMail(Graph):
    """Calendars as `Graph` serves them, plus the inbox."""

    def __init__(self) -> None:
        super().__init__()
        self.folders: dict[str, dict[str, Any]] = {"inbox": {"id": "AAMkInbox=", "displayName": "Inbox"}}
        self.messages: dict[str, dict[str, Any]] = {}  # id -> {"folder", "mime", "row", "categories", "seq"}
        self.seq = 0
        self.mail_epoch = 0  # a delta link names the epoch it was issued in; older ones are gone

    def expire_mail_state(self) -> None:
        """Graph deletes older delta tokens: every link issued so far answers 410 from now on."""
        self.mail_epoch += 1

    def deliver(self, sender: str, subject: str, message_id: str, mime: bytes, folder: str = "inbox",
                received: str | None = None) -> str:
        """A message arrives; `received` (UTC, `2026-03-24T13:10:00Z`) defaults to a minute after
        the one before."""
        self.seq += 1
        mid = f"AAMkMsg{self.seq:04d}="
        row = json.loads(Template(json.dumps(ROW["value"][0])).substitute(
            id=mid, subject=subject.replace('"', "'"), message_id=message_id, name="", address=sender))
        row["receivedDateTime"] = received or f"2026-03-24T{13 + self.seq // 60:02d}:{self.seq % 60:02d}:00Z"
        self.messages[mid] = {"folder": folder, "mime": mime, "row": row, "categories": [], "seq": self.seq}
        return mid

    def handle(self, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if parts[:3] in (["v1.0", "me", "mailFolders"], ["v1.0", "me", "messages"]):
            auth = req.header("Authorization")
            if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
                return self._error(401, "error-401.json")
            return self._mail(req, parts[2:])
        return super().handle(req)

    def _folder(self, key: str) -> str | None:
        for name, f in self.folders.items():
            if key in (name, f["id"]) or key.lower() == name:
                return name
        return None

    def _mail(self, req: Request, rest: list[str]) -> Reply:
        if rest == ["mailFolders"] and req.method == "GET":
            wanted = req.query.get("$filter", "").split("'")[1] if "'" in req.query.get("$filter", "") else None
            return self._json(200, {"value": [f for f in self.folders.values()
                                              if wanted is None or f["displayName"] == wanted]})
        if rest == ["mailFolders"] and req.method == "POST":
            name = json.loads(req.body)["displayName"]
            folder = {"id": f"AAMkFolder{len(self.folders)}=", "displayName": name}
            self.folders[name] = folder
            return self._json(201, folder)
        if len(rest) == 2 and rest[0] == "mailFolders" and req.method == "GET":
            name = self._folder(rest[1])
            return self._json(200, self.folders[name]) if name else self._error(404, "error-404.json")
        if len(rest) == 4 and rest[0] == "mailFolders" and rest[2:] == ["messages", "delta"]:
            return self._delta_mail(req, rest[1])
        if len(rest) >= 2 and rest[0] == "messages" and rest[1] in self.messages:
            m = self.messages[rest[1]]
            if rest[2:] == ["$value"] and req.method == "GET":
                return Reply(200, m["mime"], {"Content-Type": "text/plain"})
            if rest[2:] == [] and req.method == "PATCH":
                m["categories"] = json.loads(req.body).get("categories", [])
                return self._json(200, m["row"])
            if rest[2:] == ["move"] and req.method == "POST":
                dest = self._folder(json.loads(req.body)["destinationId"])
                if dest is None:
                    return self._error(404, "error-404.json")
                moved = self.messages.pop(rest[1])
                self.seq += 1
                new_id = f"AAMkMsg{self.seq:04d}="
                moved.update(folder=dest, row={**moved["row"], "id": new_id})
                self.messages[new_id] = moved
                return self._json(201, moved["row"])
        return self._error(404, "error-404.json")

    def _delta_mail(self, req: Request, folder_key: str) -> Reply:
        folder = self._folder(folder_key)
        if folder is None:
            return self._error(404, "error-404.json")
        token = req.query.get("$deltatoken", "")
        since, _, epoch = token.partition(".")
        if token and int(epoch or 0) != self.mail_epoch:
            return self._error(410, "error-410.json")
        since_seq = int(since or 0)
        skip = int(req.query.get("$skiptoken", "0") or 0)
        after = ""  # `receivedDateTime ge X` on a new round (ISO UTC strings compare in order)
        flt = req.query.get("$filter", "") or req.query.get("$skipfilter", "")
        if flt.startswith("receivedDateTime ge "):
            after = flt.removeprefix("receivedDateTime ge ").strip("'")
        rows = sorted((m for m in self.messages.values() if m["folder"] == folder and m["seq"] > since_seq
                       and m["row"]["receivedDateTime"] >= after), key=lambda m: m["seq"])
        page = rows[skip:skip + PAGE]
        url = f"{self.root}/v1.0/me/mailFolders/{folder_key}/messages/delta"
        doc: dict[str, Any] = {"@odata.context": ROW["@odata.context"], "value": [m["row"] for m in page]}
        keep = f"&$skipfilter={quote(flt)}" if after else ""
        if skip + PAGE < len(rows):
            doc["@odata.nextLink"] = f"{url}?$deltatoken={since_seq}.{self.mail_epoch}&$skiptoken={skip + PAGE}{keep}"
        else:
            last = max([since_seq, *(m["seq"] for m in rows)])
            doc["@odata.deltaLink"] = f"{url}?$deltatoken={last}.{self.mail_epoch}"
        return self._json(200, doc)
