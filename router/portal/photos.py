"""Photos that units attach to a note, a 办结 or a patrol report.

One photo per post, JPEG, PNG or WebP as its first bytes say (never the file name or the declared type),
at most MAX_PHOTO_BYTES. Stored under Settings.var_dir/uploads with a random name; the portal and the
console serve it only to those who may see its ticket (router.services.work keeps which ticket it belongs
to).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

__all__ = ["MAX_PHOTO_BYTES", "PhotoError", "PhotoTooLarge", "NotAPhoto", "sniff", "PhotoStore", "CONTENT_TYPES"]

MAX_PHOTO_BYTES = 5 * 1024 * 1024
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


class PhotoError(ValueError):
    status = 400


class PhotoTooLarge(PhotoError):
    status = 413


class NotAPhoto(PhotoError):
    status = 415


def sniff(head: bytes) -> str | None:
    """The image type the first bytes announce ("jpg", "png", "webp"), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


class PhotoStore:
    def __init__(self, var_dir: str | Path) -> None:
        self.root = Path(var_dir) / "uploads"

    def _write(self, name: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o750)
        tmp = self.root / f".{name}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        tmp.replace(self.root / name)

    async def save(self, data: bytes) -> str:
        """Store a checked photo; returns its new random name."""
        if len(data) > MAX_PHOTO_BYTES:
            raise PhotoTooLarge("照片不能超过 5 MB")
        kind = sniff(data[:16])
        if kind is None:
            raise NotAPhoto("只能上传 JPG、PNG 或 WebP 照片")
        name = f"{secrets.token_hex(16)}.{kind}"
        await asyncio.to_thread(self._write, name, data)
        return name

    def path(self, name: str) -> Path | None:
        """The file of a stored photo, or None for a name that is not one of ours."""
        if not _NAME.match(name or ""):
            return None
        path = self.root / name
        return path if path.is_file() else None

    async def remove(self, name: str) -> None:
        path = self.path(name)
        if path is not None:
            await asyncio.to_thread(path.unlink, True)
