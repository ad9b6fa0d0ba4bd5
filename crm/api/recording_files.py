"""A recording's file on disk, served with HTTP ranges: found only under the recordings
directory, sent by aiohttp's FileResponse (single ranges, 206, If-Range) with the ETag of
its checksum and the media type of its format."""

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.helpers import ETag

from crm.db.call_models import Recording
from crm.errors import CrmError, Gone
from crm.recording_paths import UnsafeRecordingPath, resolve_recording

log = logging.getLogger(__name__)

MEDIA_TYPES = {"wav": "audio/wav", "ogg": "audio/ogg"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class RangeNotSatisfiable(CrmError):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__("range_not_satisfiable", f"the recording has {size} bytes")
        self.size = size


def locate(root: Path | None, recording: Recording) -> Path:
    """The row's file resolved under `root` (`resolve_recording`: a recording's name, symlinks
    followed); Gone (logged) when it is missing, not a regular file, not a recording's name or
    lies anywhere else (an absolute path, `..`, a link out)."""
    if root is None:
        raise Gone("recordings_not_served", "no recordings directory is configured here")
    try:
        candidate = resolve_recording(root, recording.path)
    except UnsafeRecordingPath as exc:
        log.error("recording %d: %s; refused", recording.id, exc)
        raise Gone("recording_file_missing",
                   f"the file of recording {recording.id} is missing") from None  # fmt: skip
    if not candidate.is_file():
        log.error("recording %d: file %s is missing", recording.id, recording.path)
        raise Gone("recording_file_missing", f"the file of recording {recording.id} is missing")
    return candidate


def check_range(request: web.Request, size: int) -> None:
    """A range starting at or past the end (or unparsable) is refused with the JSON error
    body and `Content-Range: bytes */size` (RFC 9110 15.5.17); the rest is FileResponse's."""
    if "Range" not in request.headers or "If-Range" in request.headers:
        return
    try:
        start = request.http_range.start
    except ValueError:
        raise RangeNotSatisfiable(size) from None
    if start is not None and start >= size:
        raise RangeNotSatisfiable(size)


def download_name(recording: Recording) -> str:
    """A file name no header or file system can misread: only [A-Za-z0-9._-]."""
    call = _UNSAFE.sub("_", recording.linkedid)[:64]
    extension = recording.format if recording.format in MEDIA_TYPES else "bin"
    return f"call-{call}-part{recording.part}.{extension}"


class RecordingFile(web.FileResponse):
    """FileResponse whose ETag is the recording's SHA-256 (aiohttp would make one of the
    file's mtime and size, which a copy or restore changes though the audio is the same).

    `before_sending(status)` is awaited once the status is decided and before the first
    byte goes out (`on_prepare`): what is served is on the trail first."""

    def __init__(self, path: Path, recording: Recording, disposition: str,
                 before_sending: Callable[[int], Awaitable[None]]) -> None:  # fmt: skip
        super().__init__(path, headers={
            "Content-Type": MEDIA_TYPES.get(recording.format, "application/octet-stream"),
            "Content-Disposition": f'{disposition}; filename="{download_name(recording)}"',
            "Cache-Control": "private, no-store",
        })  # fmt: skip
        self._sha256 = recording.sha256
        self.before_sending = before_sending

    def set_status(self, status: int, reason: str | None = None) -> None:
        """aiohttp answers 404 when the file cannot be opened; it was there when located,
        so it was removed meanwhile: 410, as for any recording whose file is gone."""
        super().set_status(Gone.status if status == 404 else status, reason)

    @property
    def etag(self) -> ETag | None:
        return super().etag

    @etag.setter
    def etag(self, value: object) -> None:
        web.StreamResponse.etag.fset(self, self._sha256 or value)  # type: ignore[attr-defined]


async def on_prepare(_request: web.Request, response: web.StreamResponse) -> None:
    """The app's `on_response_prepare` hook that runs a RecordingFile's `before_sending`."""
    if isinstance(response, RecordingFile):
        await response.before_sending(response.status)
