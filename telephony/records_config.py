"""Asterisk's own record of the calls, as rendered configuration: the second witness that
reconciliation compares our call records with (CDR to CSV, app_queue's queue_log), and
the logger they share. Pure: texts out, for `telephony.asterisk_config.render`."""

from __future__ import annotations

from telephony.asterisk_tables import QUEUE_LOG_NAME
from telephony.config_sections import section


def logger_conf() -> str:
    # queue_log: app_queue's own line per caller event (ENTERQUEUE, CONNECT, COMPLETE*,
    # ABANDON ...), a second witness of the queue calls in the log directory, file only.
    return section(
        "general",
        "dateformat = %F %T.%3q",
        "queue_log = yes",
        "queue_log_to_file = yes",
        f"queue_log_name = {QUEUE_LOG_NAME}",
    ) + section("logfiles", "messages => notice,warning,error", "console => warning,error")


def cdr_conf() -> str:
    # One CSV line per CDR in log/cdr-csv/Master.csv, in UTC, with the uniqueid, userfield
    # and (newcdrcolumns) peeraccount, linkedid, sequence; unanswered legs too, so a call
    # that never reached an agent is still in Asterisk's record. No other CDR backend loads.
    return section("general", "enable = yes", "unanswered = yes") + section(
        "csv", "usegmtime = yes", "loguniqueid = yes", "loguserfield = yes",
        "newcdrcolumns = yes", "accountlogs = no",
    )  # fmt: skip


def cel_conf() -> str:
    """CEL stays off: the CDR and the queue_log are witness enough."""
    return "[general]\nenable=no\n"
