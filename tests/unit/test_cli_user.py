"""`hotline user add --role handler` without a unit would make a user who sees nothing."""

import pytest

from hotline_cli.main import main


def test_a_handler_needs_a_unit() -> None:
    with pytest.raises(SystemExit, match="--unit CODE"):
        main(["user", "add", "李雷", "--role", "handler"])
