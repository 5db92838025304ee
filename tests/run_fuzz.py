"""`make fuzz`: run every property-based test module again and again with a fresh random seed until
the time budget (FUZZ_MINUTES, default 10) is spent. Each round prints its seed and outcome; the
first failing round stops the run and says how to replay it. A finding becomes an @example."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def property_modules() -> list[str]:
    return sorted(str(p.relative_to(TESTS.parent)) for p in TESTS.rglob("test_*.py")
                  if "from hypothesis" in p.read_text(encoding="utf-8"))


def main() -> int:
    budget = float(os.environ.get("FUZZ_MINUTES", "10")) * 60
    modules = property_modules()
    env = {**os.environ, "BLOCKTIME_HYPOTHESIS": "fuzz"}
    started, rounds = time.monotonic(), 0
    print(f"fuzz: {len(modules)} modules, budget {budget / 60:g} min", flush=True)
    while time.monotonic() - started < budget:
        seed = random.SystemRandom().randrange(2**32)
        rounds += 1
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               f"--hypothesis-seed={seed}", *modules]
        run = subprocess.run(cmd, env=env, cwd=TESTS.parent, capture_output=True, text=True)
        tail = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"round {rounds}: seed {seed}: {tail}", flush=True)
        if run.returncode != 0:
            print(run.stdout[-20000:], run.stderr[-5000:], sep="\n")
            print(f"replay: BLOCKTIME_HYPOTHESIS=fuzz {' '.join(cmd[1:])}")
            return 1
    print(f"fuzz: {rounds} rounds, no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
