"""`python -m blocktime`: the `blocktime` command (as `python -m blocktime.cli`)."""

from blocktime.cli import main

raise SystemExit(main())
