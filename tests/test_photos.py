from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from citizenvoice.domain.photos import (
    MB,
    PhotoError,
    ProcessedPhoto,
    delete_photo,
    process_photo,
    store_photo,
)

# Marker bytes that would betray metadata carried over from the upload.
METADATA_MARKERS = [
    b"Exif",
    b"ICC_PROFILE",
    b"iCCP",
    b"eXIf",
    b"tEXt",
    b"iTXt",
    b"zTXt",
    b"http://ns.adobe.com",
]


def encode(img: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    """A photo-like image: noise does not compress, so files have realistic sizes."""
    return Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)])


def opened(photo: ProcessedPhoto) -> Image.Image:
    img = Image.open(io.BytesIO(photo.data))
    img.load()
    return img


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (31.0, 14.0, 5.5), 3: "E", 4: (121.0, 28.0, 1.25)})
    return exif


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but whose pixel data is a few bytes: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def refusal(data: bytes, **options: int) -> PhotoError:
    with pytest.raises(PhotoError) as caught:
        process_photo(data, **options)
    return caught.value


# ---------------------------------------------------------------------------------------------------
# Metadata and orientation


def test_gps_and_all_other_metadata_are_removed() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(noise((320, 240)), "JPEG", exif=gps_exif(), icc_profile=srgb, comment=b"secret-comment")
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[1] == "N"  # the input really has GPS
    assert b"PhoneMaker" in data and b"secret-comment" in data

    photo = process_photo(data)

    assert (photo.mime, photo.ext, photo.width, photo.height) == ("image/jpeg", "jpg", 320, 240)
    out = opened(photo)
    assert out.format == "JPEG"
    assert len(out.getexif()) == 0
    assert out.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "icc_profile" not in out.info and "comment" not in out.info
    for marker in [*METADATA_MARKERS, b"PhoneMaker", b"secret-comment", b"\xff\xe1", b"\xff\xfe"]:
        assert marker not in photo.data, marker
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()


def test_orientation_is_applied_before_the_exif_is_dropped() -> None:
    # Stored sideways: red on the left, blue on the right; tag 6 says "rotate 90° clockwise to view",
    # which puts the left (red) edge at the top.
    img = Image.new("RGB", (300, 200), "blue")
    img.paste(Image.new("RGB", (150, 200), "red"), (0, 0))
    photo = process_photo(encode(img, "JPEG", exif=gps_exif(orientation=6)))

    out = opened(photo)
    assert (photo.width, photo.height) == out.size == (200, 300)
    top, bottom = out.getpixel((100, 20)), out.getpixel((100, 280))
    assert top[0] > 200 and top[2] < 60  # red
    assert bottom[2] > 200 and bottom[0] < 60  # blue
    assert len(out.getexif()) == 0


# ---------------------------------------------------------------------------------------------------
# Size


def test_a_large_jpeg_is_scaled_to_1600_on_its_longest_side() -> None:
    photo = process_photo(encode(noise((4000, 3000)), "JPEG", quality=70))
    assert (photo.width, photo.height) == opened(photo).size == (1600, 1200)


def test_a_tall_png_is_scaled_too() -> None:
    photo = process_photo(encode(Image.new("RGB", (3000, 4000), "green"), "PNG"))
    assert (photo.width, photo.height) == (1200, 1600)


def test_small_photos_keep_their_size() -> None:
    photo = process_photo(encode(noise((640, 480)), "JPEG"))
    assert (photo.width, photo.height) == (640, 480)


def test_max_side_is_a_parameter() -> None:
    photo = process_photo(encode(noise((1000, 500)), "JPEG"), max_side=400)
    assert (photo.width, photo.height) == (400, 200)


def test_a_file_over_8_mb_is_refused_before_decoding() -> None:
    error = refusal(b"\xff\xd8\xff" + b"\x00" * (8 * MB))
    assert error.code == "too_large"
    assert error.message.startswith("照片不能超过 8 MB")
    assert isinstance(error, ValueError)


def test_the_byte_limit_is_a_parameter() -> None:
    data = encode(noise((300, 300)), "PNG")
    assert refusal(data, max_bytes=len(data) - 1).code == "too_large"
    assert process_photo(data, max_bytes=len(data)).ext == "jpg"


@pytest.mark.parametrize(
    "size",
    [(30000, 30000), (10000, 10000), (8000, 6000)],
    ids=["past Pillow's hard limit", "past Pillow's warning limit", "past max_pixels"],
)
def test_decompression_bombs_are_refused_from_the_header(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never_decode)
    data = png_declaring(*size)
    assert len(data) < 200
    error = refusal(data)
    assert error.code == "too_many_pixels"
    assert error.message


def test_max_pixels_is_a_parameter() -> None:
    assert refusal(encode(noise((200, 100)), "PNG"), max_pixels=19_999).code == "too_many_pixels"


def test_processing_never_emits_a_warning_or_changes_the_warning_filters() -> None:
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(PhotoError):
            process_photo(png_declaring(10000, 10000))
        process_photo(encode(Image.new("P", (40, 40)), "PNG", transparency=b"\x00" * 256))
    assert seen == []
    assert warnings.filters == filters


# ---------------------------------------------------------------------------------------------------
# Formats


def test_png_with_real_transparency_stays_png_with_alpha() -> None:
    img = Image.new("RGBA", (200, 100), (255, 0, 0, 255))
    img.paste(Image.new("RGBA", (100, 100), (0, 0, 255, 0)), (100, 0))
    photo = process_photo(encode(img, "PNG"))
    out = opened(photo)
    assert (photo.mime, photo.ext, out.format, out.mode) == ("image/png", "png", "PNG", "RGBA")
    assert out.getpixel((50, 50)) == (255, 0, 0, 255)
    assert out.getpixel((150, 50))[3] == 0
    for marker in METADATA_MARKERS:
        assert marker not in photo.data, marker


def test_png_with_metadata_loses_it() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret-text")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-xmp</x:xmpmeta>")
    img = Image.new("RGBA", (50, 50), (0, 0, 0, 128))
    photo = process_photo(encode(img, "PNG", pnginfo=info, exif=gps_exif()))
    assert photo.ext == "png"
    for marker in [*METADATA_MARKERS, b"secret"]:
        assert marker not in photo.data, marker


def test_an_opaque_alpha_channel_is_not_transparency() -> None:
    photo = process_photo(encode(Image.new("RGBA", (80, 60), (10, 200, 10, 255)), "PNG"))
    assert (photo.ext, opened(photo).mode) == ("jpg", "RGB")


def test_palette_transparency_stays_png() -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (0, 0, 20, 40))
    photo = process_photo(encode(img, "PNG", transparency=0))
    out = opened(photo)
    assert (photo.ext, out.mode) == ("png", "RGBA")
    assert out.getpixel((10, 10)) == (0, 255, 0, 255)
    assert out.getpixel((30, 10))[3] == 0


@pytest.mark.parametrize(
    ("img", "ext"),
    [(Image.new("RGB", (64, 48), "orange"), "jpg"), (Image.new("RGBA", (64, 48), (0, 0, 0, 0)), "png")],
    ids=["opaque", "transparent"],
)
def test_webp_becomes_jpeg_or_png(img: Image.Image, ext: str) -> None:
    photo = process_photo(encode(img, "WEBP", lossless=True, exif=gps_exif()))
    assert (photo.ext, photo.width, photo.height) == (ext, 64, 48)
    assert b"Exif" not in photo.data and b"EXIF" not in photo.data


def test_a_phone_multi_picture_jpeg_is_a_jpeg() -> None:
    frames = [Image.new("RGB", (120, 90), "red"), Image.new("RGB", (60, 45), "blue")]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    photo = process_photo(data)
    assert (photo.ext, photo.width, photo.height) == ("jpg", 120, 90)


def test_an_animated_png_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (50, 50), "red"), Image.new("RGB", (50, 50), "blue")]
    photo = process_photo(encode(frames[0], "PNG", save_all=True, append_images=frames[1:]))
    assert photo.ext == "jpg"
    assert opened(photo).getpixel((25, 25))[0] > 200


def test_cmyk_becomes_rgb() -> None:
    photo = process_photo(encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"))
    out = opened(photo)
    assert out.mode == "RGB"
    red, green, blue = out.getpixel((20, 15))
    assert red > 200 and green < 60 and blue < 60


def test_grayscale_stays_grayscale_and_16_bit_is_scaled_not_clipped() -> None:
    assert opened(process_photo(encode(Image.new("L", (30, 30), 90), "JPEG"))).mode == "L"
    sixteen = Image.new("I;16", (30, 30), 32768)
    out = opened(process_photo(encode(sixteen, "PNG")))
    assert out.mode == "L"
    assert 120 <= out.getpixel((15, 15)) <= 136


# ---------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("这是一篇文章，不是照片。\n".encode() * 50, "not_image"),
        (b"", "not_image"),
        (b"MZ\x90\x00" + b"\x00" * 200, "not_image"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(document.cookie)</script></svg>",
            "unsupported_format",
        ),
        (b'<svg onload="alert(1)"/>', "unsupported_format"),
        (encode(Image.new("RGB", (10, 10)), "GIF"), "unsupported_format"),
        (encode(Image.new("RGB", (10, 10)), "BMP"), "unsupported_format"),
        (encode(Image.new("RGB", (10, 10)), "TIFF"), "unsupported_format"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100, "unsupported_format"),
    ],
    ids=[
        "text named .jpg",
        "empty",
        "executable",
        "svg with script",
        "bare svg",
        "gif",
        "bmp",
        "tiff",
        "heic",
    ],
)
def test_anything_but_jpeg_png_webp_is_refused(data: bytes, code: str) -> None:
    error = refusal(data)
    assert error.code == code
    assert error.message in {"照片无法识别，请换一张", "只接受 JPEG、PNG 或 WebP 格式的照片"}


def test_a_truncated_jpeg_is_refused_as_corrupt() -> None:
    data = encode(noise((400, 300)), "JPEG", quality=90)
    error = refusal(data[: len(data) // 2])
    assert error.code == "corrupt"
    assert "损坏" in error.message
    assert isinstance(error.__cause__, OSError)


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("RGB", (40, 40)), "JPEG")[:20],
        encode(Image.new("RGB", (40, 40)), "PNG")[:40],
        encode(Image.new("RGB", (40, 40)), "WEBP")[:16],
    ],
    ids=["jpeg", "png", "webp"],
)
def test_an_accepted_format_cut_short_in_its_header_is_corrupt(data: bytes) -> None:
    assert refusal(data).code == "corrupt"


def test_a_png_with_broken_pixel_data_is_corrupt() -> None:
    data = encode(noise((100, 100)), "PNG")
    start = data.index(b"IDAT") + 20
    damaged = data[:start] + bytes(b ^ 0xFF for b in data[start : start + 200]) + data[start + 200 :]
    assert refusal(damaged).code == "corrupt"


# ---------------------------------------------------------------------------------------------------
# Storage


@pytest.fixture
def photo() -> ProcessedPhoto:
    return process_photo(encode(noise((64, 48)), "JPEG"))


def test_store_photo_writes_by_content_hash(tmp_path: Path, photo: ProcessedPhoto) -> None:
    relative = store_photo(photo, tmp_path)
    assert relative == f"photos/{photo.sha256[:2]}/{photo.sha256}.jpg"
    assert (tmp_path / relative).read_bytes() == photo.data
    assert [p.name for p in (tmp_path / "photos" / photo.sha256[:2]).iterdir()] == [f"{photo.sha256}.jpg"]


def test_storing_the_same_photo_twice_gives_one_file(tmp_path: Path, photo: ProcessedPhoto) -> None:
    assert store_photo(photo, tmp_path) == store_photo(photo, tmp_path)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize(
    "forged",
    [{"sha256": "../../../../tmp/evil"}, {"ext": "html"}, {"ext": "jpg/../../x"}, {"data": b"other bytes"}],
)
def test_store_photo_refuses_a_photo_whose_fields_do_not_match(
    tmp_path: Path, photo: ProcessedPhoto, forged: dict[str, object]
) -> None:
    fields = {**photo.__dict__, **forged}
    with pytest.raises(ValueError):
        store_photo(ProcessedPhoto(**fields), tmp_path)  # type: ignore[arg-type]
    assert list(tmp_path.rglob("*")) == []


def test_delete_photo(tmp_path: Path, photo: ProcessedPhoto) -> None:
    relative = store_photo(photo, tmp_path)
    assert delete_photo(tmp_path, relative) is True
    assert not (tmp_path / relative).exists()
    assert delete_photo(tmp_path, relative) is False


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "photos/../../outside.txt",
        "photos/../inside-media.txt",
        "",
        "photos",
    ],
)
def test_delete_photo_refuses_paths_outside_the_photo_directory(tmp_path: Path, path: str) -> None:
    media = tmp_path / "media"
    (media / "photos").mkdir(parents=True)
    (media / "inside-media.txt").write_text("keep")
    (tmp_path / "outside.txt").write_text("keep")
    with pytest.raises(ValueError):
        delete_photo(media, path)
    assert (media / "inside-media.txt").exists() and (tmp_path / "outside.txt").exists()


def test_delete_photo_refuses_a_symlink_leading_out(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "photos").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("keep")
    (media / "photos" / "link.jpg").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ValueError):
        delete_photo(media, "photos/link.jpg")
    assert (tmp_path / "secret.txt").exists()
