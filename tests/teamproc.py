"""A team daemon process for the scenario tests and the bench, before `[store] url` is read from the
config: `python -m tests.teamproc CONFIG STORE_URL SECONDS WORKERS` (or `SPEC.json`, see
`from_spec`). It loads the team as `blocktime daemon` does and runs the same loop (`teamd.run`),
with the claims on STORE_URL.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from blocktime.cli import teamd
from blocktime.config.loading import load
from blocktime.config.schema import Config
from blocktime.team.trainers import load_team


def from_spec(path: str) -> tuple[list[tuple[str, Config]], Path, str | None, float, int]:
    """The bench's form: SPEC.json = {"store_url", "base_dir", "every", "workers", "trainers": {name:
    {"config": one-trainer config file, "data_dir": its data folder}}}."""
    spec = json.loads(Path(path).read_text())
    trainers = []
    for name, t in spec["trainers"].items():
        data = Path(t["data_dir"])
        # each trainer's own store: its data folder, or its own schema of a PostgreSQL store
        trainers.append((name, replace(load(t["config"]), data_dir=data, outbox=data / "outbox", trainer=name)))
    return trainers, Path(spec["base_dir"]), spec.get("store_url"), float(spec["every"]), int(spec["workers"])


def main(argv: list[str]) -> int:
    if len(argv) == 1:
        trainers, base, store_url, every, workers = from_spec(argv[0])
        teamd.setup_logging([c for _, c in trainers], store_url, logging.INFO)
        return teamd.run(trainers, base_dir=base, store_url=store_url, every=timedelta(seconds=every),
                         workers=workers)
    config, store_url, seconds, workers = argv
    team = load_team(config)
    trainers = list(team.trainers.items())
    teamd.setup_logging([c for _, c in trainers], store_url, logging.INFO)
    return teamd.run(trainers, base_dir=team.base_dir, store_url=store_url, every=timedelta(seconds=float(seconds)),
                     workers=int(workers))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
