"""Reading every supported format and mode as 8-bit RGB, refusing unsafe files, writing atomically."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from lrmakeup.errors import ImageReadError, InputError
from lrmakeup.face.io import decode_image, read_image, write_image


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    """(24, 32, 3) uint8 with smooth gradients (lossy codecs keep it close) and distinct corners."""
    y, x = np.mgrid[0:24, 0:32]
    return np.stack([x * 8, y * 10, 255 - x * 4], axis=2).astype(np.uint8)


def _save(tmp_path, name: str, image: Image.Image, **options) -> str:
    path = tmp_path / name
    image.save(path, **options)
    return str(path)


@pytest.mark.parametrize(
    "name, lossless", [("a.png", True), ("a.bmp", True), ("a.tiff", True), ("a.jpg", False), ("a.webp", False)]
)
def test_reads_each_format_as_rgb(tmp_path, rgb, name, lossless):
    out = read_image(_save(tmp_path, name, Image.fromarray(rgb)))
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    if lossless:
        np.testing.assert_array_equal(out, rgb)
    else:
        assert np.abs(out.astype(int) - rgb).mean() < 6


def test_applies_exif_orientation(tmp_path):
    # Stored 40 wide x 20 high, left half red, right half blue; orientation 6 = display rotated 90° clockwise.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = read_image(_save(tmp_path, "rot.jpg", Image.fromarray(stored), exif=exif, quality=95))
    assert out.shape == (40, 20, 3)
    assert out[:18, :, 0].mean() > 200 and out[:18, :, 2].mean() < 50  # the left half is now on top
    assert out[22:, :, 2].mean() > 200 and out[22:, :, 0].mean() < 50


def test_grey_and_palette_modes(tmp_path):
    grey = read_image(_save(tmp_path, "l.png", Image.fromarray(np.full((4, 5), 77, np.uint8), "L")))
    assert (grey == 77).all() and grey.shape == (4, 5, 3)

    pal = Image.new("P", (4, 2))
    pal.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    pal.putdata([0, 1, 0, 1, 1, 0, 1, 0])
    out = read_image(_save(tmp_path, "p.png", pal))
    assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[0, 1]) == (200, 100, 50)

    out = read_image(_save(tmp_path, "pt.png", pal, transparency=1))  # palette index 1 is transparent
    assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[0, 1]) == (255, 255, 255)


def test_alpha_is_composited_onto_white(tmp_path):
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, :3] = (200, 0, 0)
    rgba[0, :, 3] = (255, 0, 128)
    out = read_image(_save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert tuple(out[0, 0]) == (200, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)
    assert abs(int(out[0, 2, 0]) - 228) <= 1 and abs(int(out[0, 2, 1]) - 127) <= 1  # half red, half white

    la = read_image(_save(tmp_path, "la.png", Image.fromarray(rgba[..., [0, 3]], "LA")))
    assert tuple(la[0, 1]) == (255, 255, 255) and tuple(la[0, 0]) == (200, 200, 200)


def test_cmyk_jpeg(tmp_path):
    out = read_image(_save(tmp_path, "c.jpg", Image.new("CMYK", (8, 8), (0, 0, 0, 0)), quality=95))
    assert out.shape == (8, 8, 3) and out.min() > 245


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100, 65535, 30000]], np.uint16)
    out = read_image(_save(tmp_path, "g16.png", Image.fromarray(values)))
    assert out[0, :, 0].tolist() == [0, 100, 255, 117]
    assert (out[..., 0] == out[..., 2]).all()


def test_decode_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_image(buffer.getvalue()), rgb)
    with pytest.raises(ImageReadError, match="selfie.png"):
        decode_image(b"not an image", name="selfie.png")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageReadError, match="nope.png.*no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="directory"):
        read_image(tmp_path)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture\n")
    with pytest.raises(ImageReadError, match="notes.png"):
        read_image(path)


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg"])
def test_truncated_files(tmp_path, name):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / name
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(ImageReadError, match=name):
        read_image(path)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [8_000, 100_000])  # above our 40 MP cap; above Pillow's own bomb limit
def test_decompression_bomb_refused_before_decoding(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(ImageReadError, match="bomb.png.*pixels"):
        read_image(path)


def test_write_round_trip_and_no_temp_files(tmp_path, rgb):
    write_image(tmp_path / "out.png", rgb)
    labels = (np.arange(20, dtype=np.uint8) % 14).reshape(4, 5)
    write_image(tmp_path / "labels.png", labels)
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), rgb)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "labels.png")), labels)
    write_image(tmp_path / "out.jpg", rgb)
    assert read_image(tmp_path / "out.jpg").shape == rgb.shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.png", "out.jpg", "out.png"]


def test_write_refuses_bad_destinations(tmp_path, rgb):
    with pytest.raises(InputError, match="extension"):
        write_image(tmp_path / "out.xyz", rgb)
    with pytest.raises(InputError, match="does not exist"):
        write_image(tmp_path / "missing" / "out.png", rgb)
    with pytest.raises(InputError, match="shape"):
        write_image(tmp_path / "out.png", rgb[..., :2])
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_existing_file_untouched(tmp_path, rgb, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"original bytes")

    def failing_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(InputError, match="keep.png.*No space left"):
        write_image(target, rgb)
    assert target.read_bytes() == b"original bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]
