"""Checking uploaded files: size limits, type decided by content (not by name), corrupt files,
and a virus scan through clamd when one is configured."""

from __future__ import annotations

import codecs
import io
import logging
import os
import re
import socket
import struct
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

MB = 1024 * 1024

# extension -> (label, MIME types the content may have)
ALLOWED = {
    "pdf": ("PDF", {"application/pdf"}),
    "png": ("PNG-afbeelding", {"image/png"}),
    "jpg": ("JPEG-afbeelding", {"image/jpeg"}),
    "jpeg": ("JPEG-afbeelding", {"image/jpeg"}),
    "gif": ("GIF-afbeelding", {"image/gif"}),
    "webp": ("WebP-afbeelding", {"image/webp"}),
    "heic": ("HEIC-foto", {"image/heic"}),
    "docx": (
        "Word-document",
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    ),
    "xlsx": ("Excel-bestand", {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    "pptx": (
        "PowerPoint-bestand",
        {"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    ),
    "odt": ("OpenDocument-tekst", {"application/vnd.oasis.opendocument.text"}),
    "ods": ("OpenDocument-rekenblad", {"application/vnd.oasis.opendocument.spreadsheet"}),
    "doc": ("Word-document", {"application/msword"}),
    "xls": ("Excel-bestand", {"application/vnd.ms-excel"}),
    "txt": ("tekstbestand", {"text/plain"}),
    "csv": ("CSV-bestand", {"text/plain"}),
    "eml": ("e-mailbericht", {"text/plain"}),
}
# An Office file unpacks to at most this much, and at most this many times its own size.
MAX_UNPACKED_BYTES = 200 * MB
MAX_PACKING_RATIO = 100
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content: bytes
    content_type: str
    scan_status: str = "not_scanned"  # signals.models.ScanStatus


def max_file_bytes() -> int:
    return settings.WEERBAAR_ATTACHMENT_MAX_MB * MB


def max_total_bytes() -> int:
    return settings.WEERBAAR_ATTACHMENTS_TOTAL_MB * MB


def max_files() -> int:
    return settings.WEERBAAR_ATTACHMENTS_MAX_FILES


FILENAME_MAX = 150


def safe_filename(name: str) -> str:
    """The file's own name (no folders, no control characters), at most FILENAME_MAX characters;
    a long name is shortened before its extension, which the type check reads."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f]", "", base)
    if len(base) > FILENAME_MAX:
        stem, dot, extension = base.rpartition(".")
        if dot and stem and len(extension) <= 10:
            base = stem[: FILENAME_MAX - len(extension) - 1] + "." + extension
        else:
            base = base[:FILENAME_MAX]
    return base or "bijlage"


def _ole_entry(name: str) -> bytes:
    """How an OLE directory entry names a stream: UTF-16 with its terminating null, padded to 64
    bytes, then the name's length in bytes (null included) as a little-endian 16-bit number."""
    encoded = (name + "\x00").encode("utf-16-le")
    return encoded.ljust(64, b"\x00") + len(encoded).to_bytes(2, "little")


# The stream an old Word or Excel file keeps its content in: other OLE files (an installer, an
# Outlook message) renamed .doc or .xls have no such directory entry.
OLE_STREAMS = {
    "application/msword": (_ole_entry("WordDocument"),),
    "application/vnd.ms-excel": (_ole_entry("Workbook"), _ole_entry("Book")),
}


def _ole_kind(content: bytes) -> str:
    for mime, entries in OLE_STREAMS.items():
        if any(entry in content for entry in entries):
            return mime
    return "application/x-ole-storage"


def _detect(content: bytes) -> str | None:
    if content.startswith(OLE_MAGIC):
        return _ole_kind(content)
    kind = filetype.guess(content)
    if kind is not None:
        return kind.mime
    sample = content[:65536]
    if sample.startswith(
        (b"\xff\xfe", b"\xfe\xff")
    ):  # UTF-16 with its byte-order mark (Notepad, Excel's "Unicode text")
        try:  # incrementally: the sample may end inside a character
            codecs.getincrementaldecoder("utf-16")().decode(sample, final=False)
        except UnicodeDecodeError:
            return None
        return "text/plain"
    if b"\x00" in sample:
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return None
    return "text/plain"


def _looks_whole(mime: str, content: bytes) -> bool:
    """A cheap structural check, so a truncated or damaged file is refused at upload."""
    if mime == "application/pdf":
        return b"%%EOF" in content[-2048:]
    if mime == "image/png":
        return _png_whole(content)
    if mime == "image/jpeg":
        return _jpeg_whole(content)
    if mime.startswith("application/vnd.openxmlformats") or mime.startswith("application/vnd.oasis"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
                if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_PACKING_RATIO * max(len(content), 1):
                    return False  # a zip bomb: refused without unpacking it
                return archive.testzip() is None
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
            return False
    return True


def _jpeg_whole(content: bytes) -> bool:
    """Walks the segments from the start-of-image marker to the start of the scan, then looks for
    the end-of-image marker after it. Not simply "ends with FFD9": phones append data after the
    image (Samsung's trailer, the video of a motion photo), and an embedded thumbnail has an FFD9
    of its own before the scan."""
    position, size = 2, len(content)
    while position + 4 <= size:
        if content[position] != 0xFF:
            return False
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        if marker == 0xD9:  # end of image before any scan
            return False
        length = int.from_bytes(content[position + 2 : position + 4], "big")
        if length < 2:
            return False
        if marker == 0xDA:  # start of scan: in the coded data an FF is followed by 00 or a restart marker
            return content.find(b"\xff\xd9", position + 2 + length) != -1
        position += 2 + length
    return False


def _png_whole(content: bytes) -> bool:
    """Walks the chunks to the end chunk (IEND), which must be there whole; data after it (some
    programs append their own) does not matter."""
    position, size = 8, len(content)
    while position + 12 <= size:
        length = int.from_bytes(content[position : position + 4], "big")
        kind = content[position + 4 : position + 8]
        position += 12 + length
        if kind == b"IEND":
            return position <= size
    return False


def check_upload(name: str, content: bytes) -> CheckedFile:
    """Returns the checked file or raises ValidationError with the reason, in Dutch."""
    filename = safe_filename(name)
    if not content:
        raise ValidationError(f"{filename}: het bestand is leeg.")
    if len(content) > max_file_bytes():
        raise ValidationError(f"{filename}: het bestand is groter dan {settings.WEERBAAR_ATTACHMENT_MAX_MB} MB.")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in ALLOWED:
        raise ValidationError(
            f"{filename}: dit soort bestand kunt u niet toevoegen. Toegestaan: PDF, afbeeldingen, "
            "Office- en OpenDocument-bestanden en tekstbestanden."
        )
    label, allowed_mimes = ALLOWED[extension]
    detected = _detect(content)
    if detected not in allowed_mimes:
        raise ValidationError(f"{filename}: de inhoud is geen {label}, al heet het bestand zo. Controleer het bestand.")
    if not _looks_whole(detected, content):
        raise ValidationError(f"{filename}: het bestand is beschadigd of onvolledig.")
    return CheckedFile(filename=filename, content=content, content_type=detected)


class ScannerUnavailable(Exception):
    pass


def clamd_configured() -> bool:
    return bool(settings.WEERBAAR_CLAMD_ADDRESS)


def clamd_scan(content: bytes) -> bool:
    """True when clean, False when infected; ScannerUnavailable when clamd cannot be reached.

    Speaks clamd's INSTREAM protocol (a TCP address host:port, or a Unix socket path)."""
    address = settings.WEERBAAR_CLAMD_ADDRESS
    try:
        if address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: object = address
        else:
            host, _, port = address.rpartition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        with sock:
            sock.settimeout(settings.WEERBAAR_CLAMD_TIMEOUT)
            sock.connect(target)
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(content), 65536):
                chunk = content[start : start + 65536]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    except (OSError, ValueError) as error:
        logger.warning("clamd unreachable: %s", type(error).__name__)
        raise ScannerUnavailable from error
    text = reply.rstrip(b"\0").decode(errors="replace")
    if text.endswith("OK"):
        return True
    if text.endswith("FOUND"):
        return False
    logger.warning("clamd gave an unexpected answer")
    raise ScannerUnavailable(text)


def scan_checked(checked: CheckedFile) -> CheckedFile:
    """Scans a checked upload when clamd is configured. An infected file is refused; when the
    scanner cannot be reached the file is accepted into quarantine and scanned later."""
    from dataclasses import replace

    from signals.models import ScanStatus

    if not clamd_configured():
        return checked
    try:
        clean = clamd_scan(checked.content)
    except ScannerUnavailable:
        return replace(checked, scan_status=ScanStatus.PENDING)
    if not clean:
        raise ValidationError(f"{checked.filename}: het bestand bevat een virus en is geweigerd.")
    return replace(checked, scan_status=ScanStatus.CLEAN)
