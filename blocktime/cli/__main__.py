"""`python -m blocktime.cli`."""

from blocktime.cli import main

raise SystemExit(main())
