"""Time conventions: the database stores naive UTC; calendar rules use China Standard Time.

China has no daylight saving time, so a fixed +08:00 offset is exact and needs no tz database.
"""

from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def utc_now() -> datetime:
    """Naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_date(utc_naive: datetime) -> date:
    return utc_naive.replace(tzinfo=UTC).astimezone(CHINA_TZ).date()


def local_midnight_utc(day: date) -> datetime:
    """The naive UTC instant at which `day` begins in China."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
    return start.astimezone(UTC).replace(tzinfo=None)
