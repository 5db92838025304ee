"""Several trainers in one installation: a main config plus a folder of one file per trainer.

The main config (found as always: `--config`, `$BLOCKTIME_CONFIG`, the user config dir) holds what the
trainers share, and a `[team]` table names the folder; each `<folder>/<name>.toml` is an ordinary
one-trainer config whose tables extend or override the main file's, key by key:

    [team]
    trainers = "trainers"        # relative to the main file's folder (default "trainers")
    data_dir = "/srv/blocktime"  # each trainer's data in <data_dir>/trainers/<name> (default: the data dir)

A config without `[team]` is one trainer called "default", exactly as before (same data dir, same
store). `[store]` and `[team]` are the main file's only; a trainer file may add `[trainer] data_dir`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blocktime.config.loading import data_dir, find_config_file, from_mapping, read_toml
from blocktime.config.schema import SCHEMA, Config, DaemonConfig
from blocktime.errors import BadInput

DEFAULT = "default"  # the one trainer of a config without [team]
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # a folder name, and a PostgreSQL schema name's tail
RESERVED = frozenset({"team"})  # PostgreSQL schema blocktime_team holds what the trainers share
SHARED_ONLY = ("team", "store")  # tables only the main file may set
PASSWORD_KEYS = frozenset({"password", "password_env", "password_keyring"})
TEAM_KEYS = {"trainers": "the folder of trainer files, relative to this file (default trainers)",
             "data_dir": "base folder of the trainers' data: <data_dir>/trainers/<name> (default: the data dir)"}
TRAINER_KEYS = {"data_dir": "this trainer's data folder (default <team data_dir>/trainers/<name>)"}


@dataclass(frozen=True)
class Team:
    """Every trainer's full Config (by name), where their data lives, and what they share."""

    trainers: Mapping[str, Config]
    base_dir: Path
    daemon: DaemonConfig
    store_url: str | None
    source: Path | None = None  # the main config file (None: no file at all)

    @property
    def is_team(self) -> bool:
        """True for a config with [team]; False for the classic one-trainer config."""
        return not (len(self.trainers) == 1 and DEFAULT in self.trainers
                    and self.trainers[DEFAULT].trainer is None)


def load_team(explicit_config: str | None) -> Team:
    """Read the main config and, with [team], every trainer file; raise one BadInput for all problems."""
    path, raw = _main(explicit_config)
    if "team" not in raw:
        cfg = from_mapping(raw, path)
        return Team({DEFAULT: cfg}, cfg.data_dir, cfg.daemon, cfg.store_url, path)
    assert path is not None  # [team] was read from a file
    shared, base, files = _layout(raw, path)
    problems: list[str] = []
    trainers: dict[str, Config] = {}
    for name, file in files.items():
        try:
            trainers[name] = _trainer(file, shared, base, path)
        except BadInput as exc:
            problems.append(str(exc))
    if problems:
        raise BadInput("; ".join(problems))
    _distinct(trainers)
    first = next(iter(trainers.values()))
    return Team(trainers, base, _daemon(shared, path), first.store_url, path)


def load_trainer(explicit_config: str | None, name: str | None) -> Config:
    """`for_trainer(load_team(...), name)` reading only that trainer's file: what a command as one
    trainer costs does not grow with the team (nor does a slip in another trainer's file stop it).
    `load_team` (team list, doctor, the daemon) also checks that no two trainers share a folder."""
    path, raw = _main(explicit_config)
    if "team" not in raw:
        cfg = from_mapping(raw, path)
        return for_trainer(Team({DEFAULT: cfg}, cfg.data_dir, cfg.daemon, cfg.store_url, path), name)
    assert path is not None
    shared, base, files = _layout(raw, path)
    if name is None and len(files) > 1:
        raise _several(list(files))
    name = name if name is not None else next(iter(files))
    if name not in files:
        raise _unknown(name, list(files))
    return _trainer(files[name], shared, base, path)


def for_trainer(team: Team, name: str | None) -> Config:
    """The Config `--as NAME` selects; with no name, the only trainer (several: a BadInput)."""
    if name is None:
        if len(team.trainers) == 1:
            return next(iter(team.trainers.values()))
        raise _several(list(team.trainers))
    found = team.trainers.get(name)
    if found is not None:
        return found
    if not team.is_team:
        raise BadInput(f"--as {name}: this config has no [team]; its one trainer is called {DEFAULT}")
    raise _unknown(name, list(team.trainers))


def _several(names: list[str]) -> BadInput:
    return BadInput(f"this config has {len(names)} trainers ({_names(names)}): choose one with --as NAME")


def _unknown(name: str, names: list[str]) -> BadInput:
    return BadInput(f"--as {name}: no such trainer (known: {_names(names)})", f"add {name}.toml to the trainers folder")


def _main(explicit_config: str | None) -> tuple[Path | None, dict[str, Any]]:
    path = find_config_file(explicit_config)
    return path, (read_toml(path) if path is not None else {})


def _layout(raw: Mapping[str, Any], path: Path) -> tuple[dict[str, Any], Path, dict[str, Path]]:
    """The shared tables, the base data dir and the trainer files by name (at least one)."""
    shared = {k: v for k, v in raw.items() if k != "team"}
    folder, base = _team_table(raw["team"], path)
    files = {f.stem: f for f in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}
    if not files:
        raise BadInput(f"{path}: [team] trainers: no trainer files (*.toml) in {folder}",
                       "add one file per trainer, e.g. trainers/anna.toml")
    return shared, base, files


def trainer_file(main: Path, name: str) -> tuple[Path, Path] | None:
    """Where `init --as NAME` writes: (the trainer's file, their data dir); None when the main config
    has no [team] and NAME is "default" (a one-trainer config: init as always)."""
    raw = read_toml(main) if main.exists() else {}
    if "team" not in raw:
        if name == DEFAULT:
            return None
        raise BadInput(f"init --as {name}: {main} has no [team]" if main.exists() else
                       f"init --as {name}: the team's main config {main} does not exist",
                       "write the main config with a [team] table first (README: For teams)")
    folder, base = _team_table(raw["team"], main)
    file = folder / f"{name}.toml"
    if not NAME.fullmatch(name) or name in RESERVED:
        raise BadInput(f"init --as {name}: a trainer's name must be lowercase letters, digits, - or _ "
                       "(at most 40, starting with a letter or digit; not 'team')")
    own = read_toml(file) if file.exists() else {}
    extra = own.get("trainer", {})
    if isinstance(extra, dict) and "data_dir" in extra:
        return file, _path(extra["data_dir"], file, "[trainer] data_dir")
    return file, base / "trainers" / name


def shared_organizer(main: Path) -> dict[str, Any]:
    """The main config's [organizer] table (a trainer's file takes its zone and language from it)."""
    body = read_toml(main).get("organizer", {}) if main.exists() else {}
    return body if isinstance(body, dict) else {}


def _names(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _team_table(body: Any, path: Path) -> tuple[Path, Path]:
    """The trainers folder and the base data dir from [team]."""
    if not isinstance(body, dict):
        raise BadInput(f"{path}: [team] must be a table")
    unknown = sorted(set(body) - set(TEAM_KEYS))
    if unknown:
        raise BadInput(f"{path}: [team] unknown key {unknown[0]!r}", f"known: {', '.join(TEAM_KEYS)}")
    folder = _path(body.get("trainers", "trainers"), path, "[team] trainers")
    base = _path(body["data_dir"], path, "[team] data_dir") if "data_dir" in body else data_dir()
    return folder, base


def _path(value: Any, relative_to: Path, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{relative_to}: {where}: expected a folder name")
    try:
        p = Path(value.strip()).expanduser()
    except RuntimeError:
        raise BadInput(f"{relative_to}: {where}: cannot expand {value!r}: no such user") from None
    return p if p.is_absolute() else relative_to.parent / p


def _trainer(file: Path, shared: Mapping[str, Any], base: Path, main: Path) -> Config:
    """One trainer's Config: the main file's tables extended and overridden by the trainer file's."""
    name = file.stem
    if not NAME.fullmatch(name):
        raise BadInput(f"{file}: a trainer's file name must be lowercase letters, digits, - or _ "
                       "(at most 40, starting with a letter or digit)")
    if name in RESERVED:
        raise BadInput(f"{file}: {name!r} is reserved; name the trainer's file otherwise")
    own = read_toml(file)
    for table in SHARED_ONLY:
        if table in own:
            raise BadInput(f"{file}: [{table}] is shared by the team: set it in {main}")
    extra = own.pop("trainer", {})
    if not isinstance(extra, dict) or set(extra) - set(TRAINER_KEYS):
        raise BadInput(f"{file}: [trainer] takes only data_dir")
    merged = _merge(shared, own)
    cfg = from_mapping(merged, file)
    _MERGED[file] = merged
    where = _path(extra["data_dir"], file, "[trainer] data_dir") if "data_dir" in extra else base / "trainers" / name
    outbox = cfg.outbox  # the trainer's own [outbox] dir as it is; the main file's is a base for all
    if not _has(own, "outbox", "dir"):
        outbox = cfg.outbox / name if _has(shared, "outbox", "dir") else where / "outbox"
    calendar = cfg.calendar
    if calendar.token_store == "keyring":  # one keyring entry per trainer (auth.TokenStore)
        calendar = replace(calendar, token_store=f"keyring:{name}")
    return replace(cfg, data_dir=where, outbox=outbox, trainer=name, calendar=calendar)


_MERGED: dict[Path, Mapping[str, Any]] = {}  # trainer file -> the tables it was read with (see `tables_of`)


def tables_of(trainer_file: Path) -> Mapping[str, Any] | None:
    """The tables a trainer's Config was made from (the main file's and theirs, merged), as read by
    `load_team` in this process; None for a file it has not read. `checks` asks, so that a zone set
    once for the team is not reported as missing from each trainer's file."""
    return _MERGED.get(trainer_file)


def _has(raw: Mapping[str, Any], table: str, key: str) -> bool:
    body = raw.get(table)
    return isinstance(body, dict) and key in body


def _merge(shared: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """Table by table, key by key; a trainer's password of any kind replaces the shared one."""
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in shared.items()}
    for table, body in own.items():
        base = merged.get(table)
        if not isinstance(body, dict) or not isinstance(base, dict):
            merged[table] = body
            continue
        if PASSWORD_KEYS & set(body):
            base = {k: v for k, v in base.items() if k not in PASSWORD_KEYS}
        merged[table] = {**base, **body}
    return merged


def _distinct(trainers: Mapping[str, Config]) -> None:
    """No two trainers share a data dir or an outbox folder (their mail and state would mix)."""
    for label in ("data dir", "outbox"):
        seen: dict[Path, str] = {}
        for name, cfg in trainers.items():
            where = (cfg.data_dir if label == "data dir" else cfg.outbox).resolve()
            if where in seen:
                raise BadInput(f"trainers {seen[where]} and {name} have the same {label} {where}",
                               "give each trainer its own")
            seen[where] = name


def _daemon(shared: Mapping[str, Any], path: Path) -> DaemonConfig:
    """The main file's [daemon] (the team's timing; each trainer's Config.daemon keeps its own nightly)."""
    body = shared.get("daemon", {})
    values: dict[str, Any] = {}
    if isinstance(body, dict):
        for key, value in body.items():
            spec = SCHEMA["daemon"].get(key)
            if spec is None:
                continue  # from_mapping already reported it for every trainer
            try:
                values[key] = spec[0](value)
            except (ValueError, BadInput) as exc:
                raise BadInput(f"{path}: [daemon] {key}: {exc}") from None
    return DaemonConfig(**values)
