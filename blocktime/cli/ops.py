"""Commands that keep blocktime running: daemon, repair, doctor, auth, demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blocktime.cli.common import load_config, now_of, open_session, trainer_name
from blocktime.errors import BadInput

if TYPE_CHECKING:
    pass


def cmd_repair(args: argparse.Namespace) -> int:
    from blocktime.usecases.repair import repair

    with open_session(args) as s:
        rep = repair(s)
        doc = {"engagements": rep.engagements, "blocks": rep.blocks, "offers": rep.offers,
               "holds": rep.holds, "skipped": rep.skipped, "backup": rep.backup, "mail": rep.mail,
               "lost": list(rep.lost)}
        if args.json:
            print(json.dumps(doc, indent=2))
        else:
            print(f"rebuilt the store from the calendar: {rep.engagements} engagements, {rep.blocks} blocks, "
                  f"{rep.offers} open offers with {rep.holds} holds")
            if rep.mail:
                print(f"{rep.mail} waiting message(s) queued again from the outbox")
            if rep.backup:
                print(f"the old store was kept as {rep.backup}")
            for line in rep.lost:
                print(f"not recovered: {line}")
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from blocktime.cli import daemon
    if trainer_name(args) is None:  # a team config without --as: every trainer (blocktime.cli.teamd)
        from blocktime.team.trainers import load_team

        team = load_team(args.config)
        if team.is_team:
            from blocktime.cli.team import team_daemon

            return team_daemon(args, team)
    cfg = load_config(args)
    tz = cfg.organizer.timezone
    if args.status:
        from blocktime.usecases.daemon_status import status

        doc = status(cfg, now_of(args, cfg))
        if args.json:
            print(json.dumps(doc, indent=2, default=str))
        else:
            from blocktime.views.daemon import status_text

            print(status_text(doc, cfg, now_of(args, cfg)))
        return 0
    daemon.setup_logging(cfg, level=logging.DEBUG if args.debug else logging.INFO)
    if args.once:
        from blocktime.cli.progress import Counting, Progress
        from blocktime.usecases.daemon_pass import run_pass

        shown = Progress()  # on a terminal only
        with daemon.single_instance(cfg.data_dir):
            try:
                result = run_pass(cfg, now_of(args, cfg), nightly=True,
                                  watch=(lambda b: Counting(b, shown)) if shown.enabled else None)
            finally:
                shown.done()
        if args.json:
            print(json.dumps(result.report, indent=2, default=str))
        else:
            from blocktime.views.daemon import summary

            print(summary(result.report))
        return 1 if result.report.get("errors") else 0
    fixed = now_of(args, cfg) if args.now else None
    return daemon.run(cfg, (lambda: fixed) if fixed else (lambda: datetime.now(tz)))


def _human(iso: str | None, tz: Any) -> str:
    """An ISO time from the store or the report, as the tables show times (`never` for none)."""
    from blocktime.notes.wording import moment_text

    return moment_text(datetime.fromisoformat(iso), tz) if iso else "never"


def cmd_demo(args: argparse.Namespace) -> int:
    from blocktime.cli.demo import run

    return run(args.dir, os.environ)


def cmd_auth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from blocktime.config import auth_flows
    from blocktime.config.auth import TokenStore

    cfg = load_config(args)
    store = TokenStore(cfg.data_dir, args.provider, cfg.calendar.token_store)
    mail = auth_flows.mail_scopes(cfg, args.provider)
    if args.provider == "google":
        if not args.client_secrets:
            raise BadInput("--client-secrets FILE is required for google",
                           "create an OAuth client (Desktop app) in the Google Cloud console and download it")
        auth_flows.google(Path(args.client_secrets).expanduser(), store, open_browser=not args.no_browser,
                          extra_scopes=mail)
    else:
        auth_flows.outlook(cfg.calendar.client_id, cfg.calendar.tenant, store, print, extra_scopes=mail)
    print(f"signed in to {args.provider}; token kept in {store.where}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """One trainer's checks; a team config with no --as: every trainer's, one after the other (one
    that cannot connect is a failed report, never the end of the others)."""
    if trainer_name(args) is None and not args.profile:
        from blocktime.team.trainers import load_team

        team = load_team(getattr(args, "config", None))
        if len(team.trainers) > 1:
            return _doctor_team(args, {n: c.calendar for n, c in team.trainers.items()})
    report, label = _doctor(args)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.text(label))
    return 0 if report.ok else 1


def _doctor_team(args: argparse.Namespace, calendars: dict[str, Any]) -> int:
    from blocktime.backends.davhttp import safe_url
    from blocktime.cli.doctor import Finding, Report
    from blocktime.errors import BlocktimeError

    reports: dict[str, Any] = {}
    names = list(calendars)
    for name, cal in calendars.items():
        try:
            report, label = _doctor(argparse.Namespace(**{**vars(args), "trainer": name}))
        except BlocktimeError as exc:  # no connection, refused sign-in: this trainer fails, the next is checked
            failed = Finding("fail", "connect", exc.message, exc.hint or "")
            report = Report(cal.provider, safe_url(cal.url or "(embedded)"), (failed,))
            label = cal.profile or cal.provider
        reports[name] = report
        if not args.json:
            print(f"== trainer {name} ==\n{report.text(label)}\n")
    bad = [n for n, r in reports.items() if not r.ok]
    if args.json:
        print(json.dumps({"ok": not bad, "trainers": {n: r.as_json() for n, r in reports.items()}}, indent=2))
    else:
        print(f"{len(names)} trainers checked: " + (f"{len(bad)} cannot work ({', '.join(bad)})" if bad
                                                     else "blocktime can work for every one"))
    return 1 if bad else 0


def _doctor(args: argparse.Namespace) -> tuple[Any, str]:
    from blocktime.cli.doctor import diagnose

    cfg = load_config(args)
    cal, label = cfg.calendar, cfg.calendar.profile or cfg.calendar.provider
    if args.profile:
        from blocktime.config.loading import from_mapping
        from blocktime.config.profiles import read_profile

        try:
            path, table = read_profile(args.profile)
        except ValueError as exc:
            raise BadInput(str(exc), "see `ls calendars/`") from None
        cal, label = from_mapping({"calendar": table}, path).calendar, f"profile {path.stem}"
        if args.insecure:
            from dataclasses import replace

            cal = replace(cal, verify_tls=False)
    from dataclasses import replace as with_

    from blocktime.cli.checks import config_findings

    now = now_of(args, cfg)
    own = tuple(config_findings(cfg, now))  # organizer, zone, file, SMTP: before the calendar
    report = diagnose(cal, cfg.data_dir, now)  # an unreachable server: one line on stderr, nothing more
    report = with_(report, findings=own + report.findings)
    if cfg.inbox is not None and not args.profile:
        from blocktime.backends.graph import graph_base
        from blocktime.cli.doctor import inbox_findings

        base = graph_base(cfg.calendar.provider, cfg.calendar.url)
        report = with_(report, findings=(*report.findings, *inbox_findings(
            cfg.inbox, cfg.data_dir, cfg.calendar.token_store, base)))
    return report, label
