"""What blocktime keeps of a Microsoft Graph delta round between passes (inside its sync token),
and when a round is due for renewal. Used by GraphBackend."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


TOKEN_PREFIX = "blocktime-graph:"
#: a delta round whose window lags this far behind the current one starts over (weekly, in effect)
RENEW = timedelta(days=7)
#: ... and so does one with a blocktime event this close to its end
EDGE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class DeltaState:
    """What blocktime keeps of a delta round: the deltaLink, its window, blocktime's event ids
    (id -> UID: a removed row names only the id) and the starts of those events."""

    link: str | None
    ids: dict[str, str] = field(default_factory=dict)
    window: tuple[datetime, datetime] | None = None
    starts: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # VIEW rounds: event id -> changeKey last seen


#: the `link` of a state kept by comparing calendarView reads (the delta path was refused)
VIEW = "view"


def write_token(state: DeltaState) -> str:
    # "imm": the ids are immutable ones (Prefer IdType="ImmutableId"); a state kept before has REST
    # ids that the rows of its link no longer name, so it starts over
    doc: dict[str, Any] = {"link": state.link, "ids": state.ids, "starts": state.starts, "imm": 1}
    if state.keys:
        doc["keys"] = state.keys
    if state.window is not None:
        doc["window"] = [_iso(state.window[0]), _iso(state.window[1])]
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode()


def read_token(token: str) -> DeltaState:
    """The state in a token; a bare deltaLink is accepted too (no window known: renewed)."""
    if not token.startswith(TOKEN_PREFIX):
        return DeltaState(token)
    try:
        doc = json.loads(zlib.decompress(base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):].encode())))
        if not doc.get("imm"):
            return DeltaState(None)
        window = doc.get("window")
        return DeltaState(str(doc["link"]), {str(k): str(v) for k, v in doc["ids"].items()},
                          (parse_time(window[0]), parse_time(window[1])) if window else None,
                          {str(k): str(v) for k, v in (doc.get("starts") or {}).items()},
                          {str(k): str(v) for k, v in (doc.get("keys") or {}).items()})
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, zlib.error):
        return DeltaState(None)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def start_of(event: dict[str, Any]) -> str | None:
    start = event.get("start") or {}
    value = str(start.get("dateTime") or "")
    return value[:19] if value else None




def due(state: DeltaState, window: tuple[datetime, datetime] | None) -> bool:
    """A round to renew: its window unknown, lagging `RENEW` behind `window`, or with one of
    blocktime's events within `EDGE` of its end while `window` reaches further."""
    if window is None:
        return False
    if state.window is None:
        return True
    (start, end), (now_start, now_end) = state.window, window
    if now_start - start >= RENEW or now_end - end >= RENEW:
        return True
    near = any(parse_time(s + "Z") >= end - EDGE for s in state.starts.values())
    return near and now_end > end
