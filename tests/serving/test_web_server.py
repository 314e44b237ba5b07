"""`lrmakeup serve` as a client meets it over HTTP: every way of sending an image hits the same caps.

One real server (a child process running the command, tiny random model) for the module. Requests go to
the page's API route ``/gradio_api/call/transfer`` as a browser or a script would send them: uploads
through gradio's upload route, ``data:`` URLs, and file paths. Oversized and bomb images are refused fast
with lrmakeup's one-line reason, and the server log holds no traceback for them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from web_servers import free_port, tiny_checkpoint

from lrmakeup.data.builtin import builtin_face

httpx = pytest.importorskip("httpx")

MAX_MB = 1  # --max-upload-mb
CACHE_MINUTES = 0.25  # 15 s: uploads and results are deleted after this (checked every 3 s)
FAST = 5.0  # seconds: a refused request costs no decoding and no model time


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    tiny_checkpoint(folder)
    port = free_port()
    log = open(folder / "server.log", "w+")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_TEMP_DIR": str(folder / "gradio-cache")}
    proc = subprocess.Popen([sys.executable, "-m", "lrmakeup", "serve",
                             "--checkpoint", str(folder / "tiny.safetensors"), "--port", str(port),
                             "--max-upload-mb", str(MAX_MB), "--max-side", "1500",
                             "--cache-minutes", str(CACHE_MINUTES)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (folder / "server.log").read_text()
        try:
            if httpx.get(f"{base}/gradio_api/info", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.5)
    try:
        yield base, folder
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def png_bytes(image: np.ndarray | Image.Image) -> bytes:
    buf = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buf, "PNG")
    return buf.getvalue()


def data_url(data: bytes) -> dict:
    return {"url": "data:image/png;base64," + base64.b64encode(data).decode(), "meta": {"_type": "gradio.FileData"}}


def upload(base: str, data: bytes, name: str = "photo.png") -> dict:
    """Through gradio's upload route, as the page does; returns the file dict the page then sends."""
    r = httpx.post(f"{base}/gradio_api/upload", files={"files": (name, data, "image/png")}, timeout=30)
    assert r.status_code == 200, r.text
    path = r.json()[0]
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def transfer(base: str, source, reference, **controls) -> tuple[str, dict | list | None, float]:
    """POST /gradio_api/call/transfer and read its event stream: (event, data, seconds)."""
    values = {"intensity": 1, "lips": 1, "skin": 1, "eyes": 1, "lips_ref": None, "skin_ref": None, "eyes_ref": None,
              "full_photo": True, "blend_ref": None, "blend": 0.5, "faces": "all", **controls}
    start = time.monotonic()
    r = httpx.post(f"{base}/gradio_api/call/transfer", json={"data": [source, reference, *values.values()]},
                   timeout=60)
    if r.status_code != 200:
        return f"http {r.status_code}", r.json(), time.monotonic() - start
    stream = httpx.get(f"{base}/gradio_api/call/transfer/{r.json()['event_id']}", timeout=120).text
    event = data = None
    for line in stream.splitlines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
    return event, data, time.monotonic() - start


@pytest.fixture(scope="module")
def reference():
    """As a data: URL: uploads are deleted from the server's cache after CACHE_MINUTES."""
    return data_url(png_bytes(builtin_face("grace_hopper")))


def test_a_normal_upload_transfers(server):
    base, _ = server
    hopper = upload(base, png_bytes(builtin_face("grace_hopper")), "hopper.png")
    event, data, _ = transfer(base, upload(base, png_bytes(builtin_face("astronaut"))), hopper)
    assert event == "complete", data
    assert data[2].startswith("full photo (512x512)")


def test_a_data_url_transfers_too(server, reference):
    event, data, _ = transfer(server[0], data_url(png_bytes(builtin_face("astronaut"))), reference, faces="largest")
    assert event == "complete", data


def test_a_data_url_over_the_byte_cap_is_refused_before_decoding(server, reference):
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), np.uint8)  # ~1.9 MB PNG, cap 1 MB
    event, data, seconds = transfer(server[0], data_url(png_bytes(noise)), reference)
    assert event == "error"
    assert data["error"] == "the source photo is 1.8 MB; uploads are limited to 1.0 MB"
    assert seconds < FAST


def test_a_pixel_bomb_is_refused_from_its_header(server, reference):
    """12000x12000 pixels in ~140 KB: as a data: URL and as an upload, refused without being decoded."""
    bomb = png_bytes(Image.new("L", (12000, 12000)))
    assert len(bomb) < 200_000
    base, _ = server
    for sent in (data_url(bomb), upload(base, bomb, "bomb.png")):
        event, data, seconds = transfer(base, sent, reference)
        assert event == "error"
        assert data["error"] == "the source photo is 12000x12000 pixels; images are limited to 1500 pixels a side"
        assert seconds < FAST
    event, data, _ = transfer(base, reference, data_url(bomb))
    assert data["error"].startswith("the reference photo is 12000x12000 pixels")


def test_non_images_empty_files_and_server_paths_get_lrmakeup_reasons(server, reference, tmp_path):
    base, folder = server
    event, data, _ = transfer(base, upload(base, b"not an image", "notes.png"), reference)
    assert (event, data["error"]) == ("error", "cannot read image the source photo: not a supported image file "
                                               "(PNG, JPEG, WEBP, BMP, TIFF)")
    event, data, _ = transfer(base, upload(base, b"", "empty.png"), reference)
    assert event == "error" and "the source photo" in data["error"]
    secret = folder / "secret.png"  # a file on the server that nobody uploaded, sent as a path without meta
    secret.write_bytes(png_bytes(builtin_face("astronaut")))
    event, data, _ = transfer(base, {"path": str(secret)}, reference)
    assert data["error"] == "the source photo must be uploaded to this page: other files on the server are not read"
    event, data, _ = transfer(base, {"url": "http://example.com/face.png"}, reference)
    assert data["error"].startswith("the source photo must be uploaded to this page")
    event, data, _ = transfer(base, reference, reference, skin="lots")
    assert data["error"] == "skin intensity must be a number in [0, 1], got 'lots'"


def test_a_request_body_over_the_limit_is_413(server, reference):
    huge = {"url": "data:image/png;base64," + "A" * (12 * 2**20), "meta": {"_type": "gradio.FileData"}}
    event, data, seconds = transfer(server[0], huge, reference)
    assert event == "http 413" and "request body over the limit" in data["error"]


def test_uploads_are_removed_from_the_cache(server):
    base, _ = server
    sent = upload(base, png_bytes(builtin_face("astronaut")), "old.png")
    assert Path(sent["path"]).is_file()
    deadline = time.monotonic() + 90
    while Path(sent["path"]).exists():
        assert time.monotonic() < deadline, "the upload is still in the cache"
        time.sleep(0.5)


def test_no_face_names_the_image_that_has_none(server, reference):
    """The library's own message, as it is: which of the two photos has no face."""
    blank = data_url(png_bytes(np.full((200, 200, 3), 128, np.uint8)))
    base, _ = server
    event, data, _ = transfer(base, blank, reference)
    assert event == "error" and "no face" in data["error"] and "source photo" in data["error"], data
    event, data, _ = transfer(base, reference, blank)
    assert event == "error" and "no face" in data["error"] and "reference photo" in data["error"], data


def test_the_log_has_no_tracebacks_and_no_share_advice(server):
    """Runs last in this module: every refusal above was logged (if at all) without a traceback."""
    _, folder = server
    log = (folder / "server.log").read_text()
    assert "Traceback" not in log, log
    assert "share=True" not in log
    assert "serving on http://127.0.0.1:" in log
