"""`blocktime store copy --to URL`: move the store to the other engine (see usecases/storecopy)."""

from __future__ import annotations

import argparse
import json

from blocktime.cli.common import open_session


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    st = sub.add_parser("store", help="the local store: copy it to the other engine (SQLite, PostgreSQL)")
    actions = st.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    cp = actions.add_parser("copy", help="copy every table into an empty store, then check the copy table by table")
    cp.add_argument("--to", required=True, metavar="URL",
                    help="sqlite: (the file in the data folder) or postgresql://host/db (an empty store)")
    cp.add_argument("--json", action="store_true")


def cmd_store(args: argparse.Namespace) -> int:
    from blocktime.usecases.storecopy import copy_store

    with open_session(args) as s:
        done = copy_store(s, args.to)
    if args.json:
        print(json.dumps({"source": done.source, "target": done.target, "tables": done.rows}, indent=2))
        return 0
    print(f"copied {done.source} to {done.target}: {sum(done.rows.values())} rows in {len(done.rows)} tables,"
          " each read back and found identical")
    for table, n in done.rows.items():
        if n:
            print(f"  {table:<16} {n}")
    print("point [store] url at the copy to use it; the original is left as it was")
    return 0
