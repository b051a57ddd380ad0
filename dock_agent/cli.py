"""`fieldvault-dock`: the workstation agent's command line.

fieldvault-dock run --config dock.toml           # watch and sync until stopped
fieldvault-dock run --config dock.toml --once    # sync what is docked now, then exit
fieldvault-dock journal --config dock.toml       # what the journal holds, as JSON lines
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
from pathlib import Path

from dock_agent import config as config_module
from dock_agent.agent import Agent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldvault-dock", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="watch the mount roots and sync docked cameras")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--once", action="store_true", help="sync what is docked now, then exit")
    show = sub.add_parser("journal", help="print the journal's clips as JSON lines")
    show.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = config_module.load(args.config)
    if args.command == "journal":
        db = sqlite3.connect(str(config.journal))
        db.row_factory = sqlite3.Row
        for row in db.execute("SELECT * FROM clip ORDER BY kind, serial, clip_id"):
            print(json.dumps(dict(row), ensure_ascii=False))
        return 0
    agent = Agent(config)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    try:
        return agent.run(once=args.once)
    except KeyboardInterrupt:
        agent.stop()
        return 130
    finally:
        agent.journal.close()


if __name__ == "__main__":
    sys.exit(main())
