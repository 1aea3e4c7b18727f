"""PDFs made once and kept: an e-ticket for each version of what it shows, an invoice once (it never changes).

Making a PDF costs a few hundred milliseconds of CPU (fonts cut to the glyphs used, text shaped); a booking's
e-tickets go out with its confirmation, its reminders and every resend, and are downloaded from the website, always
the same until the booking changes. So a document is kept in the "documents" storage (settings.STORAGES) under a
name made of a digest of everything it shows — the facts, the words of its language and the code that lays it out —
and served from there afterwards: whatever changes on the page makes a new name, and the document of the old one is
dropped when the new one is kept.

The storage is a cache: a document missing from it (another server, a cleaned disk) is made again, and a storage that
fails is logged and the document sent as made.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from kernel.metrics import PDF_RENDERS

logger = logging.getLogger(__name__)

STORAGE = "documents"
# The code that lays the documents out: changing it makes every kept document again.
_LAYOUT_FILES = ("etickets.py", "invoices.py")
LAYOUT = hashlib.sha256(b"".join((Path(__file__).parent / name).read_bytes() for name in _LAYOUT_FILES)).hexdigest()


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
            return kept.read()
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
    if not storage.exists(name):
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
    except FileNotFoundError:
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
