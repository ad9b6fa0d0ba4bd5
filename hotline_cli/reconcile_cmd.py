"""`hotline reconcile [--repair] [--json]`: what the call records, the recordings, the files
and Asterisk's own record disagree on (recordings/reconcile.py), for an administrator.

Exit code 0 when nothing was found, 1 when something was (repaired or not): a cron line or a
monitoring check can tell at once. No caller number is printed: calls by Linkedid, orders by
number.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from config.settings import Settings
from hotline_cli.recording_jobs import GRACE_S, witness_of
from recordings.reconcile import Reconciler, Report


async def _reconcile(settings: Settings, repair: bool, grace_s: float) -> Report:
    from crm.db.engine import create_engine, session_factory
    from crm.db.migrate import migrate
    from crm.domain.clock import utc_now

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        witness = await asyncio.to_thread(witness_of, settings)
        pass_ = Reconciler(session_factory(engine), settings.recordings_dir,
                           timedelta(seconds=grace_s))  # fmt: skip
        return await pass_.run(utc_now(), witness, repair)
    finally:
        await engine.dispose()


def as_text(report: Report) -> str:
    lines = [
        f"{report.witness_calls} calls in Asterisk's record ({report.witness_bad_lines} bad "
        f"lines skipped), {report.files_seen} recording files, {report.recordings_checked} "
        "recordings re-hashed",
    ]
    for kind, count in report.counts().items():
        lines.append(f"  {kind:<36} {count}")
    for f in report.findings:
        where = " ".join(x for x in (f.linkedid and f"call {f.linkedid}", f.path,
                                     f.orders and "orders " + ",".join(f.orders)) if x)  # fmt: skip
        done = f" [repaired: {f.repaired}]" if f.repaired else ""
        lines.append(f"{f.kind.value}: {where}: {f.detail}{done}")
    if not report.findings:
        lines.append("no differences")
    return "\n".join(lines)


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_reconcile(settings, args.repair, args.grace_s))
    print(report.to_json() if args.json else as_text(report))
    return 1 if report.findings else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "reconcile",
        help="list (and with --repair fix) calls, recordings and files that disagree",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="add pending rows for files found, mark missing/altered recordings, "
        "fill ends from Asterisk's record (never deletes)",
    )
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    parser.add_argument("--grace-s", type=float, default=GRACE_S,
                        help="leave calls that ended less than this ago alone")  # fmt: skip
    return parser
