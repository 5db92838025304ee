"""`blocktime init`: interactive by default, fully scriptable with flags; then `doctor`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from blocktime.errors import BadInput, BlocktimeError

if TYPE_CHECKING:
    from blocktime.cli.init import Answers

Ask = Callable[[str], str]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    i = sub.add_parser("init", help="write the config file (asks, or takes flags), then run doctor")
    i.add_argument("--name", help="your name: ORGANIZER and signature")
    i.add_argument("--email", help="the mailbox that receives replies")
    i.add_argument("--timezone", metavar="ZONE", help="IANA zone of your working day, e.g. Europe/Warsaw")
    i.add_argument("--language", choices=["en", "pl"], help="default language of notes (default en)")
    i.add_argument("--profile", metavar="NAME", help="calendar profile (local, fastmail, google, …; default local)")
    i.add_argument("--url", metavar="URL", help="CalDAV URL of the account (default: the profile's)")
    i.add_argument("--username", metavar="U", help="login name")
    how = i.add_mutually_exclusive_group()
    how.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    how.add_argument("--keyring", action="store_true", help="keep the password in the system keyring (asked now)")
    i.add_argument("--calendar", metavar="NAME", help="calendar that blocks are written to (default blocktime)")
    i.add_argument("--force", action="store_true", help="replace an existing config file")
    i.add_argument("--confirm-timezone", action="store_true",
                   help="change the zone even though blocks are booked (they keep their booked instants)")
    i.add_argument("--no-doctor", action="store_true", help="do not run doctor afterwards")


def cmd_init(args: argparse.Namespace) -> int:
    from blocktime.cli import init
    from blocktime.cli.common import trainer_name

    path, data, shared = init.target(args.config), None, {}
    main_path = path
    doctor_config, trainer = None, trainer_name(args)
    if trainer is not None:  # a team's trainer: their own file in the trainers folder (blocktime.team.trainers)
        from blocktime.team.trainers import shared_organizer, trainer_file

        found = trainer_file(path, trainer)
        if found is not None:
            (path, data), doctor_config, shared = found, str(path), shared_organizer(path)
        else:  # `--as default` on a one-trainer config: its store has no trainer namespace
            trainer = None
    given = [k for k in ("name", "email", "timezone", "profile", "url", "username", "calendar") if getattr(args, k)]
    if args.confirm_timezone and path.exists() and not given and not args.force:
        return _confirm_zone(args)
    if path.exists() and not args.force:  # before asking anything
        raise BadInput(f"{path} exists; blocktime init does not overwrite it", "add --force to replace it")
    args.timezone = args.timezone or shared.get("timezone")  # a trainer's: the team's unless given
    args.language = args.language or shared.get("language")
    missing = [f"--{k}" for k in ("name", "email", "timezone") if not getattr(args, k)]
    if missing and not sys.stdin.isatty():
        raise BadInput(f"init without a terminal needs {', '.join(missing)}", "see `blocktime init --help`")
    answers = interview(args, _ask) if missing else from_flags(args)
    if answers.keyring:
        if not answers.username:
            raise BadInput("--keyring needs --username")
        from blocktime.config.passwords import store_password

        secret = answers.password or _secret(f"password for {answers.username}: ")
        store_password(answers.username, secret)
        answers = _without_password(answers)
    text, changes = init.render(answers), list[str]()
    if path.exists():  # --force: what init does not ask about stays as it was
        from blocktime.cli.initmerge import merge

        try:
            old_text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
        text, changes = merge(old_text, text)
    init.check(text, path)
    from blocktime.config.loading import data_dir

    data = data or data_dir()
    store_url = init.store_url_of(main_path)  # a team's [store] is in the main file
    why = init.zone_change(path, answers.timezone, data, store_url, trainer) if path.exists() else None
    if why and not args.confirm_timezone and not _confirm(f"{why}. Change it? [y/N] "):
        raise BadInput(why, "add --confirm-timezone to change it anyway")
    init.write(path, text, force=args.force)
    print(f"wrote {path} (0600)")
    for line in changes:
        print(f"  {line}")
    if why:
        init.accept_zone(data, answers.timezone, store_url, trainer)
    if answers.password_env:
        print(f"the calendar password is read from ${answers.password_env}: set it before using blocktime")
    oauth = _oauth_provider(answers)
    if oauth:
        print(f"next: `blocktime auth {oauth}` signs you in (once); then `blocktime doctor`")
        return 0
    if args.no_doctor:
        return 0
    from blocktime.cli.ops import cmd_doctor

    args.config, args.profile, args.json = doctor_config or str(path), None, False
    try:
        return cmd_doctor(args)
    except BlocktimeError as exc:
        print(f"blocktime: doctor: {exc}", file=sys.stderr)
        print("the config is written; fix the above and run `blocktime doctor`", file=sys.stderr)
        return exc.exit_code


def _confirm_zone(args: argparse.Namespace) -> int:
    """`init --confirm-timezone` alone: keep the config as it is, and its zone for the booked blocks."""
    from blocktime.cli.common import load_config
    from blocktime.cli.init import accept_zone

    cfg = load_config(args)
    count = accept_zone(cfg.data_dir, cfg.organizer.timezone.key, cfg.store_url, cfg.trainer)
    print(f"{cfg.organizer.timezone.key} confirmed; {count} booked block(s) keep their times (they show in "
          f"{cfg.organizer.timezone.key} from now on)")
    return 0


def _oauth_provider(a: Answers) -> str | None:
    """google or outlook when the chosen profile signs in with OAuth2 (doctor needs `auth` first)."""
    if a.provider in ("google", "outlook"):
        return a.provider
    if not a.profile:
        return None
    from blocktime.config.profiles import read_profile

    try:
        provider = str(read_profile(a.profile)[1].get("provider", ""))
    except ValueError:
        return None
    return provider if provider in ("google", "outlook") else None


def from_flags(args: argparse.Namespace) -> Answers:
    from blocktime.cli.init import Answers

    profile = args.profile if args.profile not in (None, "local") else None
    return Answers(name=args.name, email=args.email, timezone=args.timezone, language=args.language or "en",
                   profile=profile, url=args.url, username=args.username, password_env=args.password_env,
                   keyring=args.keyring, calendar=args.calendar)


def interview(args: argparse.Namespace, ask: Ask) -> Answers:
    """Ask for whatever the flags did not give; each answer is checked before the next question."""
    from blocktime.cli.init import Answers
    from blocktime.config.inputs import zone
    from blocktime.config.loading import system_zone
    from blocktime.config.profiles import profile_names, read_profile
    from blocktime.config.schema import _email

    name = args.name or _until(ask, "Your name (ORGANIZER, signature)", None, lambda v: v)
    email = args.email or _until(ask, "Your e-mail (replies come here)", None, _email)
    tz = args.timezone or _until(ask, "Your time zone", system_zone().key, lambda v: zone(v).key)
    language = args.language or _until(ask, "Language of notes (en, pl)", "en", _lang)
    known = ", ".join(profile_names())
    profile = args.profile or _until(ask, f"Calendar ({known})", "local", lambda v: (read_profile(v), v)[1])
    if profile == "local":
        return Answers(name, email, tz, language)
    table = read_profile(profile)[1]
    provider = str(table.get("provider", "caldav"))
    url = args.url or _until(ask, "Server URL", str(table.get("url", "")) or None, lambda v: v)
    username = args.username or _until(ask, "User name", None, lambda v: v)
    password_env, keyring, password = args.password_env, args.keyring, None
    if provider == "caldav" and not (password_env or keyring):
        how = _until(ask, "Keep the password in the (k)eyring, an (e)nvironment variable or this (f)ile", "e",
                     lambda v: v[:1].lower() if v[:1].lower() in "kef" else _no("answer k, e or f"))
        if how == "e":
            password_env = _until(ask, "Environment variable", "BLOCKTIME_CALDAV_PASSWORD", lambda v: v)
        elif how == "k":
            keyring = True
        else:
            password = _secret(f"password for {username}: ")
    calendar = args.calendar or _until(ask, "Calendar for the blocks", "blocktime", lambda v: v)
    inline = (password or keyring) and "password_env" in table  # the profile's variable would win: no profile
    return Answers(name, email, tz, language, None if inline else profile, url if url != table.get("url") or inline
                   else None, username, password_env, keyring, password, calendar if calendar != "blocktime" else None,
                   provider if inline else None)


def _lang(v: str) -> str:
    return v if v in ("en", "pl") else _no("answer en or pl")


def _no(text: str) -> str:
    raise ValueError(text)


def _until(ask: Ask, question: str, default: str | None, parse: Callable[[str], str]) -> str:
    """Ask until `parse` accepts the answer (an empty answer takes the default)."""
    for _ in range(5):
        raw = ask(f"{question}{f' [{default}]' if default else ''}: ").strip() or (default or "")
        try:
            if raw:
                return parse(raw)
            print("  an answer is needed", file=sys.stderr)
        except (ValueError, BlocktimeError) as exc:
            print(f"  {exc}", file=sys.stderr)
    raise BadInput(f"no usable answer to {question!r}")


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        raise BadInput("init was cut off (end of input)") from None


def _secret(prompt: str) -> str:
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline().rstrip("\n")  # scripted: the password on stdin, never on the command line
    if not line:
        raise BadInput("no password on standard input")
    return line


def _confirm(prompt: str) -> bool:
    return sys.stdin.isatty() and _ask(prompt).strip().lower() in ("y", "yes")


def _without_password(a: Answers) -> Answers:
    from dataclasses import replace

    return replace(a, password=None)
