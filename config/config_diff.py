"""What changed between two telephony documents: (path, old, new) entries, secrets masked.

Agents, colleagues, queues, overflow seats and nuisance numbers are matched by their key
(`agents[1001].skills`, `queues[hotline].strategy`), trunks by their name
(`trunks.police.primary`; the outbound trunk `outbound.backup`, `outbound` added or removed),
never by their place in a list: moving an agent up is no change.
A secret that changed shows as MASK → MASK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.telephony_config import TelephonyConfig, masked_json, stored_json

# the lists whose items have a key of their own
KEYS = {
    "agents": "extension",
    "colleagues": "extension",
    "queues": "name",
    "overflow": "queue",
    "nuisance": "number",
}
SHOWN = 4  # paths named in a summary line


@dataclass(frozen=True)
class Change:
    path: str
    old: Any  # None: added
    new: Any  # None: removed

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


def diff(old: TelephonyConfig, new: TelephonyConfig) -> list[Change]:
    """Compared in clear (a changed secret counts), shown masked."""
    out: list[Change] = []
    _walk("", stored_json(old), stored_json(new), masked_json(old), masked_json(new), out)
    return out


def _keyed(items: list[Any], key: str) -> dict[str, Any] | None:
    """Items by their key; None when a key is missing or used twice (compared by place)."""
    if not all(isinstance(item, dict) and key in item for item in items):
        return None
    by_key = {str(item[key]): item for item in items}
    return by_key if len(by_key) == len(items) else None


def _walk(path: str, a: Any, b: Any, am: Any, bm: Any, out: list[Change]) -> None:
    if a == b:
        return
    name = KEYS.get(path)
    if name and isinstance(a, list) and isinstance(b, list):
        ka, kb, kam, kbm = (_keyed(x, name) for x in (a, b, am, bm))
        if ka is not None and kb is not None and kam is not None and kbm is not None:
            _entries(path, ka, kb, kam, kbm, out, lambda k: f"{path}[{k}]")
            return
    if isinstance(a, dict) and isinstance(b, dict):
        _entries(path, a, b, am, bm, out, lambda k: f"{path}.{k}" if path else k)
        return
    out.append(Change(path, am, bm))


def _entries(
    path: str,
    a: dict[str, Any],
    b: dict[str, Any],
    am: dict[str, Any],
    bm: dict[str, Any],
    out: list[Change],
    sub: Any,
) -> None:
    for key in dict.fromkeys([*a, *b]):
        if key not in a:
            out.append(Change(sub(key), None, bm[key]))
        elif key not in b:
            out.append(Change(sub(key), am[key], None))
        else:
            _walk(sub(key), a[key], b[key], am[key], bm[key], out)


def summary(changes: list[Change]) -> str:
    """One line for the audit trail and the version list, e.g. "改动 2 处" then the paths,
    "agents[1005] 新增" for an agent added."""
    if not changes:
        return "无改动"
    named = [
        f"{c.path} 新增" if c.old is None else f"{c.path} 删除" if c.new is None else c.path
        for c in changes[:SHOWN]
    ]
    more = f" 等 {len(changes)} 处" if len(changes) > SHOWN else ""
    return f"改动 {len(changes)} 处：" + "、".join(named) + more
