"""A module no hostile message may import or run: importing it leaves a mark."""

import os

MARK = os.environ.get("FLOWRRA_CANARY_MARK", "")
if MARK:
    with open(MARK, "w") as out:
        out.write("imported")


def boom() -> None:
    raise SystemExit("a hostile message ran unregistered code")
