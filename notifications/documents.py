"""PDFs made once and kept: an e-ticket for each version of what it shows, an invoice once (it never changes).

Making a PDF costs tens of milliseconds of CPU (fonts cut to the glyphs used, text shaped); a booking's
e-tickets go out with its confirmation, its reminders and every resend, and are downloaded from the website, always
the same until the booking changes. So a document is kept in the "documents" storage (settings.STORAGES) under a
name made of a digest of what it is made from — for e-tickets the facts in the words of their language and the key
their codes are signed with; for both, the code that lays them out, the fonts and the PDF library's version — and
served from there afterwards: whatever changes on the page makes a new name, and the document of the old one is
dropped when the new one is kept. An invoice's facts never change once it is issued: the file first made is the one
served.

The storage is a cache: a document missing from it (a cleaned disk) is made again, and a storage that fails is
logged and the document sent as made. Every process of a deployment shares it (the compose stack mounts one volume),
so that forgetting a booking deletes its e-tickets wherever they were made. A file is written under a temporary
name and renamed into place, and one that does not end as a PDF ends (a disk that filled up) is made again.
"""

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from importlib.metadata import version as installed_version
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from kernel.metrics import PDF_RENDERS
from notifications import typefaces

logger = logging.getLogger(__name__)

STORAGE = "documents"


def layout() -> str:
    """What every document is made with: the code that lays the documents out, the fonts they may be drawn with
    (cut again, they draw differently) and the library that draws them. Changing any makes every document again."""
    code = [Path(__file__).parent / name for name in ("etickets.py", "invoices.py", "typefaces.py")]
    fonts = sorted({*typefaces.WHOLE.values(), *(path for cut in typefaces.CUTS for path in cut.files.values())})
    # A cut font not made yet counts as empty: `cut_fonts`, which makes it, imports this module too.
    made_with = b"".join(path.read_bytes() if path.exists() else b"" for path in [*code, *fonts])
    made_with += installed_version("fpdf2").encode()
    return hashlib.sha256(made_with).hexdigest()


LAYOUT = layout()
# How every PDF ends (the trailer's last line): a file kept without it was cut short.
_END = b"%%EOF"


def digest(facts) -> str:
    """A short name for what a document shows (`facts`, as JSON), with the code that lays it out."""
    text = json.dumps([LAYOUT, facts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def document_kept(*, kind: str, folder: str, series: str, version: str, render: Callable[[], bytes]) -> bytes:
    """The PDF `folder/series-version.pdf` from storage, or made by `render` now and kept there; the folder's
    other versions of the series are dropped. `kind` names the document in the renders counter."""
    storage = storages[STORAGE]
    name = f"{folder}/{series}-{version}.pdf"
    try:
        with storage.open(name, "rb") as kept:
            pdf = kept.read()
        if pdf.rstrip().endswith(_END):
            return pdf
        logger.warning("document %s was kept cut short: made again", name)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("document %s not read from storage: %s", name, exc)
    pdf = render()
    PDF_RENDERS.labels(document=kind).inc()
    try:
        _keep(storage, folder, name, f"{series}-", pdf)
    except OSError as exc:
        logger.warning("document %s not kept: %s", name, exc)
    return pdf


def _keep(storage, folder: str, name: str, series_prefix: str, pdf: bytes) -> None:
    if isinstance(storage, FileSystemStorage):
        # Written whole under a name of its own, then renamed: a reader sees the whole file or none.
        path = Path(storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            part.write_bytes(pdf)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
    else:
        if storage.exists(name):
            storage.delete(name)  # cut short: a storage that renames nothing replaces the file whole
        storage.save(name, ContentFile(pdf))
    # Earlier versions, and the copy a concurrent first render may have saved under another name, go.
    _dirs, files = storage.listdir(folder)
    for other in files:
        if other.startswith(series_prefix) and f"{folder}/{other}" != name:
            storage.delete(f"{folder}/{other}")


def documents_forget(*, folder: str) -> None:
    """Drop every document kept in the folder (a booking being anonymised: its e-tickets name its passengers)."""
    storage = storages[STORAGE]
    try:
        _dirs, files = storage.listdir(folder)
        for name in files:
            storage.delete(f"{folder}/{name}")
    except FileNotFoundError:
        return
    except OSError as exc:  # logged as an error (staff see it), and the rest of a day's batch goes on
        logger.error("documents of %s not deleted: %s", folder, exc)
