"""An actor's avatar and header: uploaded images, decoded and re-encoded, served by the bridge.

:func:`process_image` takes the uploaded bytes and returns a new file, never the upload itself:

- only JPEG, PNG, GIF and WebP are opened (Pillow is told so: no other decoder runs), and the
  size the header announces is checked *before* any pixel is decoded (a decompression bomb,
  a 1 KB PNG of 50 000 × 50 000 pixels, is refused without allocating it);
- the EXIF orientation is applied, then the pixels alone are written to a new JPEG (or a PNG
  when the image has transparency): no EXIF (GPS position, camera serial), no XMP, no ICC
  profile, no comment survives; an animated GIF keeps its first frame;
- it is shrunk to fit :data:`AVATAR_SIZE` or :data:`HEADER_SIZE` (what Mastodon shows).

:class:`MediaStore` keeps the files in ``<data_dir>/media/``, named by the SHA-256 of their
content (so a URL never changes meaning and can be cached for a year), and removes those no
actor uses any more. Every bad upload is a :class:`~federation.errors.BadRequest` (400),
:class:`~federation.errors.PayloadTooLarge` (413) or
:class:`~federation.errors.UnsupportedMediaType` (415) with a message saying what to do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from federation.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

log = logging.getLogger(__name__)

#: Uploads above this size are refused before they are decoded.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Images announcing more pixels than this are refused before they are decoded.
MAX_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)
JPEG_QUALITY = 85
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
NAME_RE = re.compile(r"^[0-9a-f]{64}\.(?:jpg|png)$")


class ImageKind(StrEnum):
    AVATAR = "avatar"
    HEADER = "header"


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    extension: str  # jpg or png
    width: int
    height: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]

    @property
    def name(self) -> str:
        return f"{hashlib.sha256(self.data).hexdigest()}.{self.extension}"


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA"):
        return True
    return image.mode == "P" and "transparency" in image.info


def process_image(data: bytes, kind: ImageKind) -> ProcessedImage:
    """A clean, resized copy of the uploaded ``data`` (CPU-bound: run it in a thread)."""
    if not data:
        raise BadRequest("the image file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"the image is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (then raises); ours below comes first
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as opened:
                width, height = opened.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise BadRequest(
                        f"the image is {width} × {height} pixels: at most "
                        f"{MAX_PIXELS // 1_000_000} million pixels are accepted")
                opened.seek(0)  # the first frame of an animation
                image = ImageOps.exif_transpose(opened.copy())
    except UnidentifiedImageError:
        raise UnsupportedMediaType("not an image Pillow can read as JPEG, PNG, GIF or WebP") \
            from None
    except Image.DecompressionBombError:
        raise BadRequest(f"the image has too many pixels: at most {MAX_PIXELS // 1_000_000} "
                         "million pixels are accepted") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated or corrupt
        raise BadRequest(f"the image cannot be decoded: {str(error)[:120]}") from None
    image.thumbnail(AVATAR_SIZE if kind == ImageKind.AVATAR else HEADER_SIZE,
                    Image.Resampling.LANCZOS)
    output = io.BytesIO()
    if _has_alpha(image):
        image = image.convert("RGBA")
        clean = Image.new("RGBA", image.size)
        clean.paste(image)
        clean.save(output, format="PNG", optimize=True)
        extension = "png"
    else:
        image = image.convert("RGB")
        clean = Image.new("RGB", image.size)
        clean.paste(image)
        clean.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        extension = "jpg"
    return ProcessedImage(output.getvalue(), extension, clean.width, clean.height)


class MediaStore:
    """The bridge's own images, in ``<data_dir>/media/``."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "media"

    def path(self, name: str) -> Path | None:
        """The file of ``name`` if it is one of ours and exists (names are checked: no path
        ever comes from a request)."""
        if not NAME_RE.match(name):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def save(self, image: ProcessedImage) -> str:
        """Write ``image`` (atomically) and return its name."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = image.name
        target = self.directory / name
        if not target.exists():
            temporary = self.directory / f".{name}.{os.getpid()}.tmp"
            temporary.write_bytes(image.data)
            temporary.replace(target)
        return name

    def remove_unused(self, candidates: Iterable[str | None], in_use: set[str]) -> None:
        """Delete the files among ``candidates`` that no actor shows any more."""
        for name in candidates:
            if name and name not in in_use and NAME_RE.match(name):
                try:
                    (self.directory / name).unlink(missing_ok=True)
                except OSError as error:
                    log.warning("could not remove the unused image %s: %s", name, error)
