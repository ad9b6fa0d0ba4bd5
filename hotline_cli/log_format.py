"""How every process of the backend logs (the console command's and the HTTP process's)."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)
