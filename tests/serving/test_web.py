"""The web page without a browser: upload caps, the request handler, built-in examples, ``lrmakeup serve``."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from lrmakeup.api import MakeupTransfer  # noqa: E402
from lrmakeup.checkpoint import save_generator  # noqa: E402
from lrmakeup.cli import serve as serve_cmd  # noqa: E402
from lrmakeup.config import builtin_config_path, load_config  # noqa: E402
from lrmakeup.errors import ImageReadError, InputError  # noqa: E402
from lrmakeup.models import LRMakeupGenerator  # noqa: E402
from lrmakeup.serving import web  # noqa: E402
from lrmakeup.serving.web import (  # noqa: E402
    UploadLimits,
    WebRequest,
    build_app,
    builtin_examples,
    load_upload,
    make_handler,
    run_request,
)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    cfg = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_generator(path, LRMakeupGenerator(cfg.model), cfg)
    return path


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    return MakeupTransfer.from_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="module")
def examples(engine, tmp_path_factory):
    """The built-in (source, reference) example pairs, written once."""
    return builtin_examples(engine, tmp_path_factory.mktemp("examples"))


def png(path, height: int, width: int, noise: bool = False):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (height, width, 3), np.uint8) if noise else np.full((height, width, 3), 90, np.uint8)
    Image.fromarray(pixels).save(path)
    return path


# --- upload caps -----------------------------------------------------------------------------------------

def test_limits_default_to_10_mb_and_4096_px_and_must_be_positive():
    assert UploadLimits() == UploadLimits(max_bytes=10 * 1024 * 1024, max_side=4096)
    with pytest.raises(InputError, match="positive"):
        UploadLimits(max_bytes=0)


def test_upload_within_the_caps_is_decoded(tmp_path):
    image = load_upload(png(tmp_path / "ok.png", 30, 50), UploadLimits(max_bytes=100_000, max_side=50), "source photo")
    assert image.shape == (30, 50, 3) and image.dtype == np.uint8


def test_upload_over_the_byte_cap_is_refused_before_reading(tmp_path, monkeypatch):
    path = png(tmp_path / "noise.png", 100, 100, noise=True)  # ~30 KB
    monkeypatch.setattr(web, "decode_image", lambda *a, **k: pytest.fail("decoded an oversized upload"))
    with pytest.raises(InputError, match=r"the source photo is \d+ KB; uploads are limited to 1 KB") as err:
        load_upload(path, UploadLimits(max_bytes=1000), "source photo")
    assert "\n" not in str(err.value)


def test_upload_over_the_side_cap_is_refused_from_the_header(tmp_path, monkeypatch):
    path = png(tmp_path / "wide.png", 10, 5000)
    monkeypatch.setattr(web, "decode_image", lambda *a, **k: pytest.fail("decoded an oversized image"))
    with pytest.raises(InputError, match="the reference photo is 5000x10 pixels; images are limited to 4096 pixels"):
        load_upload(path, UploadLimits(), "reference photo")


def test_truncated_and_non_image_uploads_are_read_errors(tmp_path):
    good = png(tmp_path / "good.png", 64, 64, noise=True)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:2000])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageReadError, match="the source photo: corrupt or truncated"):
        load_upload(truncated, UploadLimits(), "source photo")
    with pytest.raises(ImageReadError, match="not a supported image file"):
        load_upload(text, UploadLimits(), "source photo")
    with pytest.raises(ImageReadError, match="upload it again"):
        load_upload(tmp_path / "gone.png", UploadLimits(), "source photo")


# --- the handler -----------------------------------------------------------------------------------------

def test_examples_are_deterministic_made_up_built_in_faces(engine, examples, tmp_path):
    again = builtin_examples(engine, tmp_path)
    assert [tuple(os.path.basename(p) for p in pair) for pair in examples] == [
        ("astronaut.png", "grace_hopper_moderate_makeup.png"), ("grace_hopper.png", "astronaut_dramatic_makeup.png")]
    for (_, ref), (_, ref2) in zip(examples, again):
        assert open(ref, "rb").read() == open(ref2, "rb").read()
    bare = np.asarray(Image.open(examples[1][0]))  # grace_hopper
    made_up = np.asarray(Image.open(examples[0][1]))  # grace_hopper wearing a look
    assert bare.shape == made_up.shape and not np.array_equal(bare, made_up)


def test_request_gives_full_photo_or_crop_and_the_lr_stage(engine, examples):
    source, reference = examples[0]
    size = engine.config.model.image_size
    full = run_request(engine, UploadLimits(), WebRequest(source, reference, full_photo=True))
    assert full.image.shape == (512, 512, 3) and full.note.startswith("full photo (512x512)")
    assert full.image_lr.shape == (size, size, 3)
    crop = run_request(engine, UploadLimits(), WebRequest(source, reference, intensity=0.5, lips=0.0,
                                                            eyes_reference=examples[1][1], full_photo=False))
    assert crop.image.shape == (size, size, 3) and crop.note == f"{size}x{size} face crop"


@pytest.mark.parametrize("request_kwargs, message", [
    ({"source": None}, "please upload a source photo"),
    ({"reference": None}, "please upload a reference photo"),
    ({"skin": 1.5}, r"skin intensity must lie in \[0, 1\]"),
])
def test_handler_turns_input_errors_into_one_line_gr_errors(engine, examples, request_kwargs, message):
    fields = {"source": examples[0][0], "reference": examples[0][1], "intensity": 1.0, "lips": 1.0, "skin": 1.0,
              "eyes": 1.0, "lips_ref": None, "skin_ref": None, "eyes_ref": None, "full_photo": True}
    fields.update(request_kwargs)
    with pytest.raises(gr.Error, match=message) as err:
        make_handler(engine, UploadLimits())(*fields.values())
    assert "\n" not in err.value.message


def test_handler_hides_internal_errors_behind_one_line(examples, caplog):
    class Broken:
        def transfer_photo(self, *args, **kwargs):
            raise RuntimeError("CUDA exploded\nwith a second line")

    with pytest.raises(gr.Error) as err:
        make_handler(Broken(), UploadLimits())(*examples[0], 1.0, 1.0, 1.0, 1.0, None, None, None, True)
    assert err.value.message == "internal error: CUDA exploded with a second line (see the server log)"
    assert "Traceback" in caplog.text  # the server log keeps the details


def test_build_app_has_the_transfer_endpoint(engine, tmp_path):
    app = build_app(engine, UploadLimits(), examples_dir=tmp_path)
    assert isinstance(app, gr.Blocks)
    assert "transfer" in [fn.api_name for fn in app.fns.values()]


# --- lrmakeup serve --------------------------------------------------------------------------------------

def test_serve_command_loads_once_and_launches_with_the_caps(tiny_checkpoint, monkeypatch, capsys):
    launched = {}
    monkeypatch.setattr(web, "launch", lambda app, limits, host, port, block: launched.update(
        app=app, limits=limits, host=host, port=port, block=block))
    parser = argparse.ArgumentParser()
    serve_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "--checkpoint", str(tiny_checkpoint), "--port", "7999",
                              "--max-upload-mb", "2", "--max-side", "1024"])
    assert args.run(args) == 0
    assert launched["limits"] == UploadLimits(max_bytes=2 * 1024 * 1024, max_side=1024)
    assert (launched["host"], launched["port"], launched["block"]) == ("127.0.0.1", 7999, True)
    assert "serving on http://127.0.0.1:7999" in capsys.readouterr().out
    with pytest.raises(InputError, match="--port"):
        args.run(parser.parse_args(["serve", "--port", "0"]))


# --- every input path, the same caps ----------------------------------------------------------------------

def test_pixel_count_is_capped_as_well_as_the_side(tmp_path, monkeypatch):
    path = png(tmp_path / "square.png", 3000, 3000)  # within 4096 a side, 9 megapixels
    monkeypatch.setattr(web, "decode_image", lambda *a, **k: pytest.fail("decoded an oversized image"))
    with pytest.raises(InputError, match=r"the source photo is 3000x3000 pixels \(9\.0 megapixels\); images are "
                                         r"limited to 4\.0 megapixels"):
        load_upload(path, UploadLimits(max_pixels=4_000_000), "source photo")


def test_data_urls_are_capped_by_their_base64_length_before_decoding(tmp_path, monkeypatch):
    import base64

    data = png(tmp_path / "noise.png", 100, 100, noise=True).read_bytes()
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert web.read_image_input({"url": url}, UploadLimits(), "source photo").shape == (100, 100, 3)
    monkeypatch.setattr(base64, "b64decode", lambda *a, **k: pytest.fail("decoded an oversized data: URL"))
    with pytest.raises(InputError, match=rf"the source photo is {len(data) // 1024} KB; uploads are limited to 1 KB"):
        web.read_image_input({"url": url}, UploadLimits(max_bytes=1000), "source photo")
    monkeypatch.undo()
    with pytest.raises(ImageReadError, match="not base64 encoded"):
        web.read_image_input({"url": "data:image/png,rawbytes"}, UploadLimits(), "source photo")


def test_paths_outside_the_allowed_folders_are_not_read(tmp_path):
    inside, outside = tmp_path / "cache", tmp_path / "elsewhere"
    inside.mkdir(), outside.mkdir()
    ok = png(inside / "a.png", 20, 20)
    secret = png(outside / "secret.png", 20, 20)
    link = inside / "link.png"
    link.symlink_to(secret)  # a link out of the cache is outside too
    assert web.read_image_input({"path": str(ok)}, UploadLimits(), "source photo", roots=[inside]) is not None
    for path in (secret, link, inside / ".." / "elsewhere" / "secret.png", outside / "missing.png"):
        with pytest.raises(InputError, match="must be uploaded to this page"):
            web.read_image_input({"path": str(path)}, UploadLimits(), "source photo", roots=[inside])
    with pytest.raises(InputError, match="must be uploaded to this page"):
        web.read_image_input({"url": "http://example.com/a.png"}, UploadLimits(), "source photo", roots=[inside])


def test_blend_and_face_choice_reach_the_transfer(engine, examples):
    source, reference = examples[0]
    blended = run_request(engine, UploadLimits(), WebRequest(source, reference, blend_reference=examples[1][1],
                                                             blend=0.25, faces="largest"))
    assert "makeup blended 0.75 reference + 0.25 second reference" in blended.note
    plain = run_request(engine, UploadLimits(), WebRequest(source, reference, faces="0"))
    assert not np.array_equal(blended.image, plain.image)
    with pytest.raises(InputError, match="faces must be one of"):
        run_request(engine, UploadLimits(), WebRequest(source, reference, faces="everyone"))
    with pytest.raises(InputError, match=r"blend must be a number in \[0, 1\], got 'half'"):
        run_request(engine, UploadLimits(), WebRequest(source, reference, blend_reference=reference, blend="half"))
