"""What a photo upload may be, and what is kept of it (pure: bytes in, bytes out; no database, no disk).

Only JPEG, PNG and WebP, recognised by their magic bytes and then decoded by Pillow restricted to that one
format (a file named .jpg that is an SVG, a GIF or HTML is refused). The pixel count is checked from the
header before any pixel is decoded (decompression bombs). What is kept is re-encoded from the decoded
pixels: EXIF (GPS position, camera serial, time), XMP, ICC profiles, comments and anything appended after
the image (polyglots) are gone. Orientation from EXIF is applied first, so the photo stays upright.
Opaque images are stored as JPEG, images with transparency as WebP; each gets a thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo_grid.errors import InvalidImage

if TYPE_CHECKING:  # Pillow is imported when a photo is processed, not at start-up
    from PIL import Image

# Magic bytes → Pillow format name.
ACCEPTED = ("JPEG", "PNG", "WEBP")
CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp"}
JPEG_QUALITY = 85
WEBP_QUALITY = 85


def sniff(data: bytes) -> str | None:
    """The format the first bytes announce (JPEG, PNG, WEBP), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


@dataclass(frozen=True)
class Encoded:
    """One re-encoded image."""

    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo as stored: re-encoded (`content_type`), its thumbnail (same format), their SHA-256."""

    source_format: str
    content_type: str
    extension: str
    photo: Encoded
    thumb: Encoded

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.photo.data).hexdigest()


def _refuse(reason: str) -> InvalidImage:
    return InvalidImage(f"照片无法接受：{reason}（只接受 JPEG、PNG 或 WebP 图片）", {"reason": reason})


def process(data: bytes, *, max_pixels: int, max_side: int, thumb_side: int) -> ProcessedPhoto:
    """Check `data` and re-encode it (raises InvalidImage, 415 `invalid_image`)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    kind = sniff(data)
    if kind is None:
        raise _refuse("不是 JPEG、PNG 或 WebP 文件")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[kind]) as img:
                width, height = img.size
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise _refuse(f"图片尺寸 {width}×{height} 超过上限 {max_pixels:,} 像素")
                img.seek(0)  # an animated WebP/PNG: its first frame
                img.load()
                upright = ImageOps.exif_transpose(img)
        except InvalidImage:
            raise
        except (
            UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning,
        ) as exc:  # fmt: skip
            raise _refuse(f"图片无法解码（{type(exc).__name__}）") from None
    transparent = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    out_format = "WEBP" if transparent else "JPEG"
    pixels = upright.convert("RGBA" if transparent else "RGB")
    return ProcessedPhoto(
        source_format=kind,
        content_type=CONTENT_TYPES[out_format],
        extension=EXTENSIONS[out_format],
        photo=_encode(pixels, out_format, max_side),
        thumb=_encode(pixels, out_format, thumb_side),
    )


def _encode(pixels: Image.Image, out_format: str, side: int) -> Encoded:
    from PIL import Image

    img = pixels.copy()
    img.thumbnail((side, side), Image.Resampling.LANCZOS)  # only ever shrinks, keeps the aspect ratio
    buffer = io.BytesIO()
    # No exif=, icc_profile= or comment: the new file carries pixels only.
    if out_format == "JPEG":
        img.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        img.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return Encoded(buffer.getvalue(), img.width, img.height)
