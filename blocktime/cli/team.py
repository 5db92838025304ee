"""`blocktime team …`: the trainers of this installation (`team list`; more team commands join here)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from blocktime.cli.common import table
from blocktime.errors import BadInput

if TYPE_CHECKING:
    from blocktime.team.trainers import Team


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    t = sub.add_parser("team", help="the trainers of a team config (see README: For teams)")
    actions = t.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="each trainer: name, organizer, calendar (no secrets) and data folder")
    ls.add_argument("--json", action="store_true")
    st = actions.add_parser("status", help="each trainer: last and next pass, lag, mail waiting, open offers, "
                                           "conflicts, the daemon holding it now; the daemons")
    st.add_argument("--json", action="store_true")


def cmd_team(args: argparse.Namespace) -> int:
    return int(ACTIONS[args.team_command](args))


def cmd_team_list(args: argparse.Namespace) -> int:
    import json

    from blocktime.team.trainers import load_team

    team = load_team(args.config)
    rows = [{"trainer": name, "organizer": cfg.organizer.email, "calendar": calendar_text(cfg.calendar.provider,
             cfg.calendar.url), "data_dir": str(cfg.data_dir), "outbox": str(cfg.outbox)}
            for name, cfg in team.trainers.items()]
    store = redact_url(team.store_url) if team.store_url else None
    if args.json:
        print(json.dumps({"team": team.is_team, "store": store, "base_dir": str(team.base_dir), "trainers": rows},
                         indent=2, ensure_ascii=False))
        return 0
    print(table([[r["trainer"], r["organizer"], r["calendar"], r["data_dir"]] for r in rows],
                ["trainer", "organizer", "calendar", "data"]))
    print(f"store: {store or 'SQLite, one file in each data folder'}")
    return 0


def _now(args: argparse.Namespace, team: Team) -> datetime:
    from blocktime.cli.common import now_of

    if getattr(args, "now", None):
        return now_of(args, next(iter(team.trainers.values())))
    return datetime.now(UTC)


def cmd_team_status(args: argparse.Namespace) -> int:
    from blocktime.team.trainers import load_team

    return _status(args, load_team(args.config))


def _status(args: argparse.Namespace, team: Team) -> int:
    import json

    from blocktime.views.team import status_text, team_status

    doc = team_status(list(team.trainers.items()), base_dir=team.base_dir, store_url=team.store_url,
                      now=_now(args, team))
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(status_text(doc, next(iter(team.trainers.values())).organizer.timezone))
    return 0


def team_daemon(args: argparse.Namespace, team: Team) -> int:
    """`blocktime daemon` with a team config and no --as: every trainer, shared with the other
    daemons on the same store (blocktime.cli.teamd); --once passes each trainer no daemon holds."""
    import json
    import logging

    from blocktime.cli import teamd
    if args.status:
        return _status(args, team)
    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    if args.interval is not None and args.interval <= 0:
        raise BadInput("--interval must be more than 0 seconds")
    trainers = list(team.trainers.items())
    teamd.setup_logging([c for _, c in trainers], team.store_url, logging.DEBUG if args.debug else logging.INFO)
    fixed = _now(args, team) if getattr(args, "now", None) else None
    clock = (lambda: fixed) if fixed else None
    if args.once:
        done = teamd.run_once(trainers, base_dir=team.base_dir, store_url=team.store_url, clock=clock,
                              workers=args.workers)
        if args.json:
            print(json.dumps(done, indent=2, ensure_ascii=False))
        else:
            for name, result in done.items():
                print(f"{name}: {result}")
        return 0 if all(r in ("passed", "held elsewhere") for r in done.values()) else 1
    every = timedelta(seconds=args.interval) if args.interval else None
    return teamd.run(trainers, base_dir=team.base_dir, store_url=team.store_url, clock=clock, every=every,
                     workers=args.workers)


ACTIONS = {"list": cmd_team_list, "status": cmd_team_status}

_TOKENISH = re.compile(r"(?=[^/]*\d)[A-Za-z0-9_.~-]{24,}")


def calendar_text(provider: str, url: str | None) -> str:
    """What `team list` shows for a calendar: the provider, or its URL without secrets."""
    return redact_url(url) if url else provider


def redact_url(url: str) -> str:
    """A URL safe to show: no password, no query values, no long token-like path segment.

    >>> redact_url("https://ann:pw@dav.example/cal/?token=abc&x=1")
    'https://ann:***@dav.example/cal/?token=***&x=***'
    >>> redact_url("https://calendar.example/ical/private-0123456789abcdef0123456789/basic.ics")
    'https://calendar.example/ical/***/basic.ics'
    """
    from blocktime.config.redaction import without_password

    return without_password(url, query=lambda q: re.sub(r"=[^&]*", "=***", q),
                            path=lambda p: "/".join("***" if _TOKENISH.fullmatch(seg) else seg for seg in p.split("/")))
