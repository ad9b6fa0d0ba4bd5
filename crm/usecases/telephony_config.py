"""The telephony configuration's versions: the database is its source of truth.

The settings file seeds version 1 on first start (`seed_if_empty`); afterwards every change
is a whole new document, checked as a whole, stored as the next version with its author,
time and masked diff, and recorded in the admins' trail (`admin_changes`, subject
`telephony`) in the same transaction. Changes are optimistic: the caller names the version
it edited (`base_version`); if another admin stored one since (or stores it while this one
is being stored), the change is refused with the current version (409), never merged. A
document identical to the current one stores nothing (no version, no trail row) and says
so. A revert stores the old document again as the next version (`reverted_from`), audited
like any change.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from config.config_diff import Change, diff, summary
from config.telephony_config import (
    DocumentInvalid,
    TelephonyConfig,
    parse_document,
    stored_json,
    unmask,
)
from crm.db.telephony_models import TelephonyVersion
from crm.domain.masking import mask_number
from crm.errors import Conflict, NotFound, Unprocessable
from crm.repo import admin_changes

log = logging.getLogger(__name__)

SUBJECT = "telephony"  # admin_changes.subject
SEEDED = "由配置文件初始化（第 1 版）"

# Whether the running centre can run a document (old → new), beyond the document's own
# checks: the infrastructure's (an exchange peer's trunk removed) and the live apply's (a
# change only a restart applies). Given by the wiring root; the reasons, none if it can.
Runnable = Callable[[TelephonyConfig, TelephonyConfig], Sequence[str]]


class VersionConflict(Conflict):
    """Another change was stored since the caller's `base_version`."""

    def __init__(self, current: int) -> None:
        super().__init__(
            "version_conflict",
            f"配置已被他人修改：当前为第 {current} 版，请在最新版本上重新修改",
            "base_version", {"current_version": current},
        )  # fmt: skip
        self.current = current


async def _latest(session: AsyncSession) -> TelephonyVersion | None:
    return await session.scalar(
        select(TelephonyVersion).order_by(TelephonyVersion.version.desc()).limit(1)
    )


async def seed_if_empty(session: AsyncSession, document: TelephonyConfig, now: datetime) -> bool:
    """Version 1 from the settings file, if there is no version yet; whether it was seeded."""
    if await session.scalar(select(func.count()).select_from(TelephonyVersion)):
        return False
    session.add(TelephonyVersion(version=1, document=stored_json(document), author_id=None,
                                 created_at=now, changes=[], summary=SEEDED))  # fmt: skip
    await session.flush()
    return True


async def current(session: AsyncSession) -> TelephonyVersion:
    row = await _latest(session)
    if row is None:
        raise NotFound("no_telephony_config", "还没有电话配置：后端首次启动时由配置文件初始化")
    return row


async def versions(
    session: AsyncSession, limit: int = 100, before: int | None = None
) -> Sequence[TelephonyVersion]:
    """The newest versions first (`before`: older than that version)."""
    query = select(TelephonyVersion).order_by(TelephonyVersion.version.desc()).limit(limit)
    if before is not None:
        query = query.where(TelephonyVersion.version < before)
    return (await session.scalars(query)).all()


async def version(session: AsyncSession, number: int) -> TelephonyVersion:
    row = await session.get(TelephonyVersion, number)
    if row is None:
        raise NotFound("version_not_found", f"没有第 {number} 版电话配置")
    return row


def document_of(row: TelephonyVersion) -> TelephonyConfig:
    """A stored version's document read back: each field checked by its model, not the rules
    across the document, which every change passed when it was stored. Version 1 is the
    settings file's, which may predate those rules (a 110 trunk without a backup): it runs as
    the file did, and the first change must satisfy them."""
    return TelephonyConfig.model_validate(row.document)


def refused(exc: DocumentInvalid) -> Unprocessable:
    """The document's problems as the API's 422 (and the command's message)."""
    first = exc.problems[0]
    return Unprocessable(
        "invalid_config", f"配置有 {len(exc.problems)} 处错误：{exc}", first.field,
        {"errors": [p.as_json() for p in exc.problems]},
    )  # fmt: skip


def not_runnable(reasons: Sequence[str]) -> Unprocessable:
    """A document the running centre cannot run live, as the API's 422."""
    return Unprocessable(
        "config_not_runnable", "运行中的中心无法应用此配置：" + "；".join(reasons), "document",
        {"errors": [{"field": "document", "message": r} for r in reasons]},
    )  # fmt: skip


def runnable_or_refused(
    runnable: Runnable | None, old: TelephonyConfig, new: TelephonyConfig
) -> None:
    if runnable is not None and (reasons := runnable(old, new)):
        log.warning("telephony configuration refused, not runnable: %s", "; ".join(reasons))
        raise not_runnable(reasons)


async def check(
    session: AsyncSession, data: Mapping[str, Any], runnable: Runnable | None = None
) -> TelephonyConfig:
    """`data` checked as a whole, masked secrets taken from the current version, then by
    `runnable` against the current version."""
    old = document_of(await current(session))
    document = _checked(lambda: parse_document(unmask(data, old)))
    runnable_or_refused(runnable, old, document)
    return document


def _checked(parse: Callable[[], TelephonyConfig]) -> TelephonyConfig:
    """`parse()`'s document; its problems logged and raised as the API's 422."""
    try:
        return parse()
    except DocumentInvalid as exc:
        fields = ", ".join(p.field for p in exc.problems)
        log.warning("telephony configuration refused, %d bad fields: %s", len(exc.problems), fields)
        raise refused(exc) from None


NUMBERS = "nuisance"  # the section whose keys and values are callers' phone numbers


def shown_diff(old: TelephonyConfig, new: TelephonyConfig) -> list[Change]:
    """The diff as stored, logged and shown: secrets masked (`diff`), and callers' phone
    numbers too (`nuisance[139****0071]`), as the project masks numbers elsewhere."""
    return [_numbers_masked(c) for c in diff(old, new)]


def _numbers_masked(change: Change) -> Change:
    head, bracket, rest = change.path.partition("[")
    if head != NUMBERS:
        return change
    number, _, field = rest.partition("]")
    path = f"{NUMBERS}[{mask_number(number)}]{field}" if bracket else change.path
    return Change(path, _number_masked(change.old), _number_masked(change.new))


def _number_masked(value: Any) -> Any:
    if isinstance(value, list):
        return [_number_masked(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("number"), str):
        return {**value, "number": mask_number(value["number"])}
    return value


async def _store(
    session: AsyncSession,
    actor_id: int,
    now: datetime,
    base: TelephonyVersion,
    document: TelephonyConfig,
    reverted_from: int | None = None,
) -> tuple[TelephonyVersion, bool]:
    found = shown_diff(document_of(base), document)
    if not found:
        return base, False
    changes, line = [c.as_json() for c in found], summary(found)
    if reverted_from is not None:
        line = f"恢复为第 {reverted_from} 版：{line}"
    row = TelephonyVersion(version=base.version + 1, document=stored_json(document),
                           author_id=actor_id, created_at=now, changes=changes,
                           summary=line[:500], reverted_from=reverted_from)  # fmt: skip
    try:
        async with session.begin_nested():  # a concurrent change stored this number first
            session.add(row)
    except IntegrityError:
        raise VersionConflict((await current(session)).version) from None
    action = "changed" if reverted_from is None else "reverted"
    detail = {"version": row.version, "base_version": base.version, "summary": row.summary,
              "reverted_from": reverted_from, "changes": changes}  # fmt: skip
    await admin_changes.record(session, actor_id, now, SUBJECT, row.version, action, detail)
    log.info("telephony configuration version %d stored by user %d: %s", row.version, actor_id,
             row.summary)  # fmt: skip
    return row, True


async def _base(session: AsyncSession, base_version: int) -> TelephonyVersion:
    latest = await current(session)
    if latest.version != base_version:
        log.warning("telephony configuration change on version %d refused: version %d is "
                    "the current one", base_version, latest.version)  # fmt: skip
        raise VersionConflict(latest.version)
    return latest


async def apply_change(
    session: AsyncSession, actor_id: int, now: datetime, base_version: int,
    data: Mapping[str, Any], runnable: Runnable | None = None,
) -> tuple[TelephonyVersion, bool]:  # fmt: skip
    """The new current version and True; or the current one and False if `data` changes
    nothing."""
    base = await _base(session, base_version)
    return await _store(session, actor_id, now, base, await check(session, data, runnable))


async def revert(
    session: AsyncSession, actor_id: int, now: datetime, base_version: int, to_version: int,
    runnable: Runnable | None = None,
) -> tuple[TelephonyVersion, bool]:  # fmt: skip
    """`to_version`'s document as the next version (False: it is the current one already),
    checked as a whole as a change would be (a seeded version 1 may not pass)."""
    base = await _base(session, base_version)
    target = document_of(await version(session, to_version))
    old = _checked(lambda: parse_document(stored_json(target)))
    runnable_or_refused(runnable, document_of(base), old)
    return await _store(session, actor_id, now, base, old, reverted_from=to_version)
