"""Upload checks: type by content, size limits, corrupt files, and the virus scan through clamd."""

from __future__ import annotations

import io
import socket
import socketserver
import struct
import threading
import zipfile

import pytest
from django.core.exceptions import ValidationError

from signals.attachments import check_upload, scan_checked
from signals.models import Attachment, ScanStatus
from tests.factories import PDF_BYTES

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
PNG = (  # one pixel: signature, IHDR, IDAT and IEND chunks with their lengths and checksums
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("verslag.pdf", PDF_BYTES, "application/pdf"),
        ("foto.PNG", PNG, "image/png"),
        ("notitie.txt", "Gezien op dinsdag: één bestelbus.".encode(), "text/plain"),
        ("brief.docx", _docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("../../etc/overzicht.csv", b"a;b\n1;2\n", "text/plain"),
    ],
)
def test_allowed_files_pass_with_their_real_type(name, content, content_type):
    checked = check_upload(name, content)
    assert checked.content_type == content_type
    assert "/" not in checked.filename


def test_a_long_name_is_shortened_before_its_extension():
    long_name = "verslag van de controle bij de snackbar op de hoek " * 4 + ".pdf"
    checked = check_upload(long_name, PDF_BYTES)
    assert checked.content_type == "application/pdf"
    assert (
        len(checked.filename) == 150
        and checked.filename.endswith(" .pdf") is False
        and checked.filename.endswith(".pdf")
    )
    # Without an extension (or with a "dot" deep inside a long name) only the length is cut.
    with pytest.raises(ValidationError, match="dit soort bestand kunt u niet toevoegen"):
        check_upload("x" * 300, PDF_BYTES)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("factuur.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "de inhoud is geen PDF"),
        ("foto.jpg", PDF_BYTES, "de inhoud is geen JPEG-afbeelding"),
        ("programma.exe", b"MZ\x90\x00", "dit soort bestand kunt u niet toevoegen"),
        ("script.txt", b"\x00\x01\x02binary", "de inhoud is geen tekstbestand"),
        ("kapot.pdf", b"%PDF-1.4\n1 0 obj", "beschadigd of onvolledig"),
        ("kapot.docx", b"PK\x03\x04" + b"\x00" * 40, "geen Word-document"),
        ("leeg.pdf", b"", "het bestand is leeg"),
    ],
)
def test_refused_files_get_their_reason(name, content, message):
    with pytest.raises(ValidationError) as error:
        check_upload(name, content)
    assert message in error.value.messages[0]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _jpeg(*, thumbnail: bool = False) -> bytes:
    """A baseline JPEG's structure: JFIF header, an EXIF block (with a thumbnail, itself a JPEG that
    ends in FFD9), tables, frame, scan with stuffed FF bytes, end of image."""
    exif = b"Exif\x00\x00" + (b"\xff\xd8\xff\xdb\x00\x04\x00\x00\xff\xd9" if thumbnail else b"MM\x00*")
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xE1, exif)
        + _segment(0xDB, b"\x00" + bytes(range(64)))
        + _segment(0xC0, b"\x08\x00\x10\x00\x10\x01\x01\x11\x00")
        + _segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\xff\x00\x56" * 40  # coded data: FF is always followed by 00 here
        + b"\xff\xd9"
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("foto.jpg", _jpeg()),
        ("samsung.jpg", _jpeg() + b"SEFH\x00\x00\x00\x01" + b"\x00" * 40 + b"SEFT"),  # the phone's trailer
        ("bewegend.jpg", _jpeg(thumbnail=True) + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64),  # a motion photo
        ("schermafdruk.png", PNG + b"extra data van een tekenprogramma"),
    ],
)
def test_photos_with_data_after_the_image_are_accepted(name, content):
    assert check_upload(name, content).content_type.startswith("image/")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("afgebroken.jpg", _jpeg(thumbnail=True)[:-60]),  # cut in the scan: only the thumbnail's FFD9 is left
        ("zonder-scan.jpg", _jpeg()[:40]),
        ("afgebroken.png", PNG[:-8]),
        ("zonder-einde.png", PNG[:-12]),
    ],
)
def test_cut_off_photos_are_refused(name, content):
    with pytest.raises(ValidationError, match="beschadigd of onvolledig"):
        check_upload(name, content)


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # an OLE compound file's first sector


def _ole_directory_entry(name: str) -> bytes:
    """A 128-byte directory entry as Word and Excel write it: the name, its length, a stream."""
    encoded = (name + "\x00").encode("utf-16-le")
    return encoded.ljust(64, b"\x00") + len(encoded).to_bytes(2, "little") + b"\x02\x01" + b"\x00" * 60


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "oud.doc",
            OLE_HEADER + _ole_directory_entry("Root Entry") + _ole_directory_entry("WordDocument"),
            "application/msword",
        ),
        (
            "oud.xls",
            OLE_HEADER + _ole_directory_entry("Root Entry") + _ole_directory_entry("Workbook"),
            "application/vnd.ms-excel",
        ),
        ("heel-oud.xls", OLE_HEADER + _ole_directory_entry("Book"), "application/vnd.ms-excel"),
        ("unicode.txt", "Gezien: één busje".encode("utf-16"), "text/plain"),  # with its byte-order mark
    ],
)
def test_old_office_files_and_utf16_text_pass(name, content, content_type):
    assert check_upload(name, content).content_type == content_type


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.doc", OLE_HEADER + _ole_directory_entry("SummaryInformation"), "de inhoud is geen Word-document"),
        ("bericht.xls", OLE_HEADER + _ole_directory_entry("__substg1.0_0037001F"), "de inhoud is geen Excel-bestand"),
        ("rekenblad.doc", OLE_HEADER + _ole_directory_entry("Workbook"), "de inhoud is geen Word-document"),
        # The word in a file's text is not a directory entry.
        (
            "boeking.xls",
            OLE_HEADER + "Uw Booking.com bevestiging".encode("utf-16-le"),
            "de inhoud is geen Excel-bestand",
        ),
    ],
)
def test_other_ole_files_named_doc_or_xls_are_refused(name, content, message):
    with pytest.raises(ValidationError, match=message):
        check_upload(name, content)


def test_per_file_limit(settings):
    settings.WEERBAAR_ATTACHMENT_MAX_MB = 1
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n"
    with pytest.raises(ValidationError, match="groter dan 1 MB"):
        check_upload("groot.pdf", big)


class _FakeClamd(socketserver.BaseRequestHandler):
    """Speaks clamd's INSTREAM protocol; reports EICAR as found, like a real clamd."""

    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            size = struct.unpack("!L", self._read(4))[0]
            if size == 0:
                break
            data += self._read(size)
        verdict = b"stream: Eicar-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
        self.request.sendall(verdict)

    def _read(self, n: int) -> bytes:
        buffer = b""
        while len(buffer) < n:
            chunk = self.request.recv(n - len(buffer))
            if not chunk:
                raise ConnectionError
            buffer += chunk
        return buffer


@pytest.fixture
def clamd(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeClamd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEERBAAR_CLAMD_ADDRESS = f"127.0.0.1:{server.server_address[1]}"
    settings.WEERBAAR_CLAMD_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_clamd_files_are_not_scanned(settings):
    settings.WEERBAAR_CLAMD_ADDRESS = ""
    assert scan_checked(check_upload("a.txt", b"hallo")).scan_status == ScanStatus.NOT_SCANNED


def test_clean_file_is_marked_clean(clamd):
    assert scan_checked(check_upload("a.pdf", PDF_BYTES)).scan_status == ScanStatus.CLEAN


def test_infected_file_is_refused_with_a_message(clamd):
    with pytest.raises(ValidationError, match="bevat een virus"):
        scan_checked(check_upload("eicar.txt", EICAR))


@pytest.mark.django_db
def test_scanner_down_means_quarantine_then_scanned_when_back(settings, make_user, organisation):
    from signals.tasks import scan_pending_attachments
    from tests.factories import make_signal

    settings.WEERBAAR_CLAMD_ADDRESS = f"127.0.0.1:{_closed_port()}"
    settings.WEERBAAR_CLAMD_TIMEOUT = 2
    checked = scan_checked(check_upload("a.pdf", PDF_BYTES))
    assert checked.scan_status == ScanStatus.PENDING
    employee = make_user(organisation=organisation)
    signal = make_signal(employee, files=[("a.pdf", PDF_BYTES)])
    Attachment.objects.filter(signal=signal).update(scan_status=ScanStatus.PENDING)
    attachment = Attachment.objects.get(signal=signal)
    assert not attachment.downloadable

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeClamd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.WEERBAAR_CLAMD_ADDRESS = f"127.0.0.1:{server.server_address[1]}"
        assert scan_pending_attachments() == 1
    finally:
        server.shutdown()
        server.server_close()
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.CLEAN and attachment.downloadable


def test_a_zip_bomb_office_file_is_refused_without_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * (30 * 1024 * 1024))
    with pytest.raises(ValidationError, match="beschadigd of onvolledig"):
        check_upload("bom.docx", buffer.getvalue())
