"""The optional photo that comes with an essay: checked, cleaned, re-encoded and stored by content.

Decisions:

* **The content decides the format**, never the file name or the client's content type. Only Pillow's
  JPEG, PNG and WebP parsers ever see the bytes (``Image.open(formats=...)``), so an SVG, GIF, HEIC or
  text file is never parsed as anything else. Phone JPEGs that carry a second, "multi-picture" frame
  open as ``MPO`` and are accepted as JPEG. Animated PNG/WebP keep their first frame.
* **Decompression bombs** are refused from the header alone: the declared size is checked against
  ``max_pixels`` before any pixel is decoded, and Pillow's own bomb warning and error count as a
  refusal too.
* **Every photo is decoded and re-encoded**, so nothing from the upload survives except pixels: EXIF
  (GPS, camera serials), XMP, comments, text chunks and ICC profiles are all dropped. The EXIF
  orientation is applied first so the photo still stands the right way up. An embedded ICC profile is
  used to convert the pixels to sRGB before it is dropped (Display P3 phone photos and CMYK files keep
  their colours); a profile that cannot be read is ignored.
* **Output is JPEG, or PNG when the image really is transparent**, whatever came in: WebP becomes
  JPEG/PNG too, because the print desk's Typst and Word exports take JPEG and PNG everywhere, and a
  photograph kept as PNG would be needlessly large. Grayscale stays grayscale; CMYK becomes RGB.
* **One photo is processed at a time** (a module lock). ``warnings.catch_warnings`` changes
  process-wide state and is not thread-safe, and the server runs this in a thread pool; serialising
  also caps peak memory at one large decode. Photos are rare next to page views, so nothing queues.
* **Stored by content**: ``photos/<sha256[:2]>/<sha256>.<ext>`` under the media directory, written to a
  temporary file in the same directory and moved into place, so a reader never sees half a photo. The
  same photo uploaded twice is one file, which callers deleting a photo must keep in mind.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

MB = 1024 * 1024
PHOTO_DIR = "photos"
# The parsers Pillow may use. Its JPEG parser returns a JPEG with extra frames (which many phone
# cameras write) as format "MPO", so that name is accepted as a JPEG without being a parser of its own.
_PARSERS = ("JPEG", "PNG", "WEBP")
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_FORMATS = frozenset({*_PARSERS, *_JPEG_FORMATS})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})
_OUTPUTS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
_STORED_NAME = re.compile(r"[0-9a-f]{64}\.(?:jpg|png)")

# Signatures of the accepted formats: bytes that start like one but do not open are damaged, not foreign.
_ACCEPTED_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# Other image formats people send, so they can be told which formats to use instead of "unrecognised".
_OTHER_IMAGE_MAGIC = (b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00", b"8BPS")

MESSAGES = {
    "too_large": "照片不能超过 {limit} MB，请压缩后再上传",
    "not_image": "照片无法识别，请换一张",
    "unsupported_format": "只接受 JPEG、PNG 或 WebP 格式的照片",
    "too_many_pixels": "照片的像素尺寸过大，请缩小后再上传",
    "corrupt": "照片文件不完整或已损坏，请重新上传或换一张",
}

_lock = threading.Lock()


class PhotoError(ValueError):
    """A refused photo: ``code`` for programs and tests, ``message`` (Chinese) for the form."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    mime: str
    ext: str
    width: int
    height: int
    sha256: str


def _refuse(code: str, **details: object) -> PhotoError:
    return PhotoError(code, MESSAGES[code].format(**details))


def process_photo(
    data: bytes, *, max_bytes: int = 8 * MB, max_side: int = 1600, max_pixels: int = 40_000_000
) -> ProcessedPhoto:
    """Check, decode, orient, shrink and re-encode an uploaded photo; raise PhotoError to refuse it."""
    if len(data) > max_bytes:
        raise _refuse("too_large", limit=f"{max_bytes / MB:g}")
    with _lock, warnings.catch_warnings():
        # Pillow warns about odd but harmless files (broken EXIF, palette transparency); those are not
        # the author's problem and must not reach the log or a strict test run. A bomb warning is.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(data, max_pixels) as img:
            try:
                return _encode(_to_srgb(_decode(img, max_side)))
            except PhotoError:
                raise
            except Exception as exc:
                # Pillow's decoders raise a wide, undocumented range of exceptions on damaged or hostile
                # files (a truncated JPEG is an OSError). Any of them is a refusal the author can act
                # on, not a server error that would lose the essay they typed.
                raise _refuse("corrupt") from exc


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open from the header only, and refuse before decoding anything that is not a modest photo."""
    try:
        img = Image.open(io.BytesIO(data), formats=_PARSERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("too_many_pixels") from None
    except Image.UnidentifiedImageError:
        raise _unidentified(data) from None
    except Exception as exc:
        raise _refuse("corrupt") from exc
    width, height = img.size
    refusal: str | None = None
    if img.format not in _FORMATS:  # formats= already ensures this; the check states the rule here
        refusal = "unsupported_format"
    elif width * height > max_pixels:
        refusal = "too_many_pixels"
    elif width < 1 or height < 1:
        refusal = "corrupt"
    if refusal:
        img.close()
        raise _refuse(refusal)
    return img


def _unidentified(data: bytes) -> PhotoError:
    if data.startswith(_ACCEPTED_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return _refuse("corrupt")
    head = data[:1024].lower()
    # ftyp boxes are HEIC/AVIF (iPhone photos); SVG may start with an XML declaration or a comment.
    if data.startswith(_OTHER_IMAGE_MAGIC) or data[4:8] == b"ftyp" or b"<svg" in head:
        return _refuse("unsupported_format")
    return _refuse("not_image")


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(img: Image.Image, max_side: int) -> Image.Image:
    if img.format in _JPEG_FORMATS:
        # libjpeg can decode at 1/2, 1/4 or 1/8 scale while still giving at least the final size:
        # a 12-megapixel phone photo then costs a quarter of the memory and time.
        img.draft(img.mode, _fit(img.size, max_side))
    img.load()
    picture = _upright(img)
    if max(picture.size) > max_side:
        picture = picture.resize(_fit(picture.size, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return picture


def _upright(img: Image.Image) -> Image.Image:
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception:
        # A broken EXIF block should cost the author the rotation at worst, not the photo.
        return img
    return upright if upright is not None else img


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "CMYK"):
        return img
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:
        # An unreadable profile (or a Pillow built without LittleCMS): keep the pixels as they are.
        return img
    return converted if converted is not None else img


def _is_transparent(img: Image.Image) -> bool:
    if img.mode not in _ALPHA_MODES and "transparency" not in img.info:
        return False
    # An alpha channel that is opaque everywhere (common in screenshots) is not transparency.
    return img.convert("RGBA").getchannel("A").getextrema()[0] < 255


def _opaque(img: Image.Image) -> Image.Image:
    if img.mode in _GRAY_MODES:
        return img.convert("L")
    if img.mode.startswith("I"):
        # 16-bit grayscale PNG: Pillow's conversion to 8 bits clips instead of scaling (all white).
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return img if img.mode == "RGB" else img.convert("RGB")


def _encode(img: Image.Image) -> ProcessedPhoto:
    if _is_transparent(img):
        out, fmt, options = img.convert("RGBA"), "PNG", {}
    else:
        out, fmt, options = _opaque(img), "JPEG", {"quality": 85, "optimize": True, "progressive": True}
    if out is img:
        out = img.copy()
    # Some encoders fall back to ``info`` (ICC profile, comment, XMP) when no option is given: empty it.
    out.info = {}
    buffer = io.BytesIO()
    out.save(buffer, fmt, **options)
    data = buffer.getvalue()
    mime, ext = _OUTPUTS[fmt]
    width, height = out.size
    return ProcessedPhoto(data, mime, ext, width, height, hashlib.sha256(data).hexdigest())


def _relative_path(photo: ProcessedPhoto) -> str:
    name = f"{photo.sha256}.{photo.ext}"
    # The path is built from these fields, so a hand-made ProcessedPhoto must not smuggle in "../".
    if not _STORED_NAME.fullmatch(name) or hashlib.sha256(photo.data).hexdigest() != photo.sha256:
        raise ValueError("photo sha256/ext do not describe its data")
    return f"{PHOTO_DIR}/{photo.sha256[:2]}/{name}"


def store_photo(photo: ProcessedPhoto, media_dir: Path) -> str:
    """Write the photo under media_dir atomically; return its path relative to media_dir."""
    relative = _relative_path(photo)
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives next to the target so os.replace is a rename within one file system.
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(photo.data)
            file.flush()
            # On disk before the essay row that points at it is committed.
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return relative


def delete_photo(media_dir: Path, rel_path: str) -> bool:
    """Delete a stored photo; False if it is already gone. Refuses any path outside media_dir/photos."""
    root = (media_dir / PHOTO_DIR).resolve()
    # resolve() follows "..", absolute paths and symlinks, so the check sees where the path really leads.
    target = (media_dir.resolve() / rel_path).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"refusing to delete a path outside the photo directory: {rel_path!r}")
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True
