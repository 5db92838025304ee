"""A team daemon process for the scenario tests: `python -m tests.teamproc SPEC.json`.

SPEC: {"store_url": url or null, "base_dir": path, "every": seconds, "workers": n,
       "trainers": {name: {"config": path, "data_dir": path}}}. Each trainer's config is read
as `blocktime` reads it, with the trainer's own data dir (what a team config gives each trainer).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from blocktime import teamd
from blocktime.config import Config, load


def trainers(spec: dict[str, object]) -> list[tuple[str, Config]]:
    out = []
    for name, t in dict(spec["trainers"]).items():  # type: ignore[call-overload]
        cfg = load(t["config"])
        data = Path(t["data_dir"])
        out.append((name, replace(cfg, data_dir=data, outbox=data / "outbox")))
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    team = trainers(spec)
    teamd.setup_logging([c for _, c in team], spec.get("store_url"), logging.INFO)
    return teamd.run(team, base_dir=Path(spec["base_dir"]), store_url=spec.get("store_url"),
                     every=timedelta(seconds=spec["every"]), workers=spec.get("workers", 4))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
