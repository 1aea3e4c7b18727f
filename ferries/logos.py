"""Operators' logos: uploaded by staff in the admin, checked (a real PNG, JPEG or WebP image, at most MAX_BYTES and
MAX_SIDE pixels a side), kept in the operator's row and served by the web process under a version taken from their
content — so a browser keeps one for good, and a new upload is a new address. No shared file storage is needed,
whatever the number of web processes; SVG is refused (it can carry scripts)."""

import hashlib
import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from ferries.models import Operator
from ferries.services import operator_shown_changed

MAX_BYTES = 200 * 1024
MAX_SIDE = 1024
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def logo_checked(content: bytes) -> str:
    """The logo's media type, or ValidationError saying what is wrong with it."""
    if len(content) > MAX_BYTES:
        raise ValidationError(_("A logo is at most %(kb)d KB.") % {"kb": MAX_BYTES // 1024})
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(_("Upload a PNG, JPEG or WebP image.")) from None
    if kind not in FORMATS:
        raise ValidationError(_("Upload a PNG, JPEG or WebP image."))
    if max(width, height) > MAX_SIDE:
        raise ValidationError(_("A logo is at most %(px)d pixels a side.") % {"px": MAX_SIDE})
    return FORMATS[kind]


def logo_set(*, operator: Operator, content: bytes | None) -> None:
    """Keep the operator's new logo (None: remove it); its sailings' cached searches are dropped, so that the new
    address shows at the next search."""
    if content is None:
        operator.logo, operator.logo_type, operator.logo_version = b"", "", ""
    else:
        operator.logo_type = logo_checked(content)
        operator.logo, operator.logo_version = content, hashlib.sha256(content).hexdigest()[:16]
    operator.save(update_fields=["logo", "logo_type", "logo_version"])
    operator_shown_changed(operator=operator)
