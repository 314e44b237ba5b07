"""The web page: ``lrmakeup serve`` (Gradio). Upload a bare face and a made-up one, see the result.

The page is a thin layer over :class:`lrmakeup.api.MakeupTransfer` (METHOD §5, inference only):

- inputs: source and reference photos (or the built-in examples, right under them), a second reference and
  the blend weight t between the two, global + lips / skin / eyes intensities, per-region references
  (partial transfer), which faces of the photo (all, the largest, the centre one, or face N), full photo
  (paste-back) vs the 256x256 face crop;
- outputs: the result x̃_SR beside the low-resolution stage x̃_LR, and a one-line note on what is shown.

Every way an image can reach the transfer endpoint goes through the same caps before anything decodes it:
an upload (gradio's upload route refuses files over ``UploadLimits.max_bytes`` before storing them), a
``data:`` URL in the request (its size is computed from the base64 length, before decoding), and a file path
in the request (only files gradio stored for this server, or the built-in examples, are read). The event
runs with ``preprocess=False``, so gradio never decodes an image itself; :func:`image_from_bytes` checks the
byte size, then the width, height and pixel count read from the header (no pixel decoded), then decodes with
:func:`lrmakeup.face.io.decode_image`. Request bodies are capped too (:class:`BodyLimit`). Every lrmakeup
error reaches the page as its one line (``gr.Error``, not logged as a traceback); uploads and results in
gradio's cache are deleted after ``cache_seconds``.

Nothing here contacts the internet: analytics are off, no share link, the default theme's fonts are local.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..api import MakeupControls, MakeupTransfer, wants_paste_back
from ..errors import ImageReadError, InputError
from ..face.io import READ_FORMATS, decode_image, write_image
from ..models import REGIONS

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

import gradio as gr  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLE_SEED = 0
EXAMPLE_LOOKS = (("astronaut", "dramatic"), ("grace_hopper", "moderate"))  # (built-in face, look style)
FACE_CHOICES = [("all faces", "all"), ("the largest face", "largest"), ("the face nearest the centre", "center")] + [
    (f"face {i + 1} (by size)", str(i)) for i in range(8)]
IMAGE_INPUTS = 6  # source, reference, blend reference, three region references: the most one request carries


@dataclass(frozen=True)
class UploadLimits:
    """Caps on one image sent to the page: bytes, pixels per side, pixels in all."""

    max_bytes: int = 10 * 1024 * 1024
    max_side: int = 4096
    max_pixels: int = 4096 * 4096

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_side <= 0 or self.max_pixels <= 0:
            raise InputError(f"upload limits must be positive, got {self.max_bytes} bytes, {self.max_side} px a "
                             f"side and {self.max_pixels} pixels")

    @property
    def max_request_bytes(self) -> int:
        """The largest request body: every image input as a base64 data: URL (4/3 of its bytes), plus 1 MB."""
        return IMAGE_INPUTS * (self.max_bytes * 4 // 3 + 4) + 2**20


def _megabytes(n: int) -> str:
    """Bytes as the page says them: '10.0 MB', or '300 KB' under a megabyte."""
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(n, 1) / 1024:.0f} KB"


# ---- one image, from whatever the request carried ---------------------------------------------------------

def _check_bytes(size: int, limits: UploadLimits, what: str) -> None:
    if size > limits.max_bytes:
        raise InputError(f"the {what} is {_megabytes(size)}; uploads are limited to {_megabytes(limits.max_bytes)}")


def image_from_bytes(data: bytes, limits: UploadLimits, what: str) -> np.ndarray:
    """An encoded image -> (H, W, 3) uint8 RGB, or InputError naming ``what`` and the cap it breaks.

    Order matters: the byte size first, then the dimensions and pixel count from the header (without
    decoding the pixels: a 12000x12000 PNG of a few hundred KB is refused in milliseconds), then decoding.
    """
    _check_bytes(len(data), limits, what)
    dims = _header_size(data)
    if dims is not None:
        _check_dims(dims, limits, what)
    image = decode_image(data, name=f"the {what}")
    _check_dims((image.shape[1], image.shape[0]), limits, what)  # e.g. an EXIF rotation the header hid
    return image


def _check_dims(dims: tuple[int, int], limits: UploadLimits, what: str) -> None:
    width, height = dims
    if max(width, height) > limits.max_side:
        raise InputError(f"the {what} is {width}x{height} pixels; images are limited to "
                         f"{limits.max_side} pixels a side")
    if width * height > limits.max_pixels:
        raise InputError(f"the {what} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); images "
                         f"are limited to {limits.max_pixels / 1e6:.1f} megapixels")


def load_upload(path: str | os.PathLike, limits: UploadLimits, what: str) -> np.ndarray:
    """One stored file -> (H, W, 3) uint8 RGB: its size is checked before it is read (see image_from_bytes)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise OSError
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"the {what} upload is missing; please upload it again") from exc
    _check_bytes(size, limits, what)
    return image_from_bytes(path.read_bytes(), limits, what)


def load_data_url(url: str, limits: UploadLimits, what: str) -> np.ndarray:
    """A ``data:image/...;base64,...`` URL -> image; its byte size is known from the base64 length, so an
    oversized one is refused before it is decoded."""
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        raise ImageReadError(f"the {what} is a data: URL that is not base64 encoded")
    _check_bytes(len(payload) * 3 // 4 - payload[-2:].count("="), limits, what)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageReadError(f"the {what} is a data: URL whose base64 data is corrupt") from exc
    return image_from_bytes(data, limits, what)


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding pixels; None when Pillow cannot tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=READ_FORMATS) as im:
                return im.size
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS, Image.MAX_IMAGE_PIXELS)  # beyond any sane cap
    except Exception:  # noqa: BLE001 - not an image: decode_image gives the proper message
        return None


def read_image_input(value: Any, limits: UploadLimits, what: str, roots: list[Path] | None = None
                     ) -> np.ndarray | None:
    """What the page or an API client sent for one image input -> the image (None when empty).

    ``value``: gradio's file dict (``path`` of a stored upload, or ``url`` holding a ``data:`` URL), or a
    path (Python callers). ``roots``: folders a path must lie in (gradio's upload cache, the examples);
    None allows any path (Python callers only).
    """
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, (str, os.PathLike)):
        url, path = (str(value), None) if str(value).startswith("data:") else (None, value)
    elif isinstance(value, dict):
        url, path = value.get("url"), value.get("path")
    else:
        raise InputError(f"the {what} must be an uploaded image, got {type(value).__name__}")
    if isinstance(url, str) and url.startswith("data:"):
        return load_data_url(url, limits, what)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"the {what} must be uploaded to this page (or sent as a data: URL)")
    if roots is not None and not _inside(Path(path), roots):
        raise InputError(f"the {what} must be uploaded to this page: other files on the server are not read")
    return load_upload(path, limits, what)


def _inside(path: Path, roots: list[Path]) -> bool:
    """Whether ``path`` (links followed) lies in one of ``roots``; decided without regard to whether it
    exists, so the answer does not tell a client which files the server has."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return False
    return any(real.is_relative_to(root.resolve()) for root in roots)


# ---- the request ------------------------------------------------------------------------------------------

@dataclass
class WebRequest:
    """What the page sends: the images (file dicts, data: URLs or paths; None when empty) and the controls."""

    source: Any
    reference: Any
    intensity: float = 1.0
    lips: float = 1.0
    skin: float = 1.0
    eyes: float = 1.0
    lips_reference: Any = None
    skin_reference: Any = None
    eyes_reference: Any = None
    full_photo: bool = True
    blend_reference: Any = None
    blend: float = 0.5
    faces: str = "all"


@dataclass
class WebResult:
    image: np.ndarray  # the full photo with the faces pasted back, or the 256x256 face
    image_lr: np.ndarray  # x̃_LR, the low-resolution stage
    note: str  # one line: what is shown


def _number(value: Any, name: str) -> float:
    """A control's value as a float; InputError (not a traceback) for anything else an API client sends."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number in [0, 1], got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number in [0, 1], got {value!r}") from exc


def _faces(value: Any) -> str | int:
    allowed = {v for _, v in FACE_CHOICES}
    if value in (None, ""):
        return "all"
    if str(value) not in allowed:
        raise InputError(f"faces must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return int(value) if str(value).isdigit() else str(value)


def run_request(engine: MakeupTransfer, limits: UploadLimits, request: WebRequest,
                roots: list[Path] | None = None) -> WebResult:
    """The page's work without gradio: check and decode the images, transfer, choose crop or paste-back."""
    if request.source in (None, "", {}):
        raise InputError("please upload a source photo (the bare face) or pick an example")
    if request.reference in (None, "", {}):
        raise InputError("please upload a reference photo (the made-up face) or pick an example")
    faces = _faces(request.faces)
    numbers = {name: _number(getattr(request, name), f"{name} intensity" if name in REGIONS else name)
               for name in ("intensity", *REGIONS, "blend")}
    photo = read_image_input(request.source, limits, "source photo", roots)
    reference = read_image_input(request.reference, limits, "reference photo", roots)
    blend_ref = read_image_input(request.blend_reference, limits, "second reference photo", roots)
    references = {r: image for r in REGIONS
                  if (image := read_image_input(getattr(request, f"{r}_reference"), limits, f"{r} reference",
                                                roots)) is not None}
    controls = MakeupControls(
        intensity=numbers["intensity"],
        regions={r: numbers[r] for r in REGIONS},
        references=references,
        blend=None if blend_ref is None else (blend_ref, numbers["blend"]),
    )
    pasted, results = engine.transfer_photo(photo, reference, faces=faces, controls=controls)
    first = results[0]
    size = engine.config.model.image_size
    if request.full_photo and wants_paste_back(photo, first.source, size):
        made_up = f"{len(results)} faces" if len(results) > 1 else "the face"
        note = f"full photo ({photo.shape[1]}x{photo.shape[0]}) with {made_up} made up and blended back"
        image = pasted
    elif request.full_photo:
        note = f"{size}x{size} face: the photo is itself a face crop, so the face holds more detail"
        image = first.image
    else:
        note = f"{size}x{size} face crop"
        image = first.image
        if len(results) > 1:
            note += f" of the largest of the {len(results)} faces made up (full photo shows them all)"
    if first.source.num_faces > len(results):
        note += f"; {len(results)} of the {first.source.num_faces} faces found"
    if blend_ref is not None:
        note += f"; makeup blended {1 - numbers['blend']:.2f} reference + {numbers['blend']:.2f} second reference"
    return WebResult(image=image, image_lr=first.image_lr, note=note)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def make_handler(engine: MakeupTransfer, limits: UploadLimits, roots: list[Path] | None = None):
    """The gradio callback: lrmakeup errors become their one-line ``gr.Error``; bugs are logged, not shown."""

    def handle(source, reference, intensity, lips, skin, eyes, lips_ref, skin_ref, eyes_ref, full_photo,
               blend_ref=None, blend=0.5, faces="all"):
        request = WebRequest(source, reference, intensity, lips, skin, eyes, lips_ref, skin_ref, eyes_ref,
                             bool(full_photo), blend_ref, blend, faces)
        try:
            result = run_request(engine, limits, request, roots)
        except InputError as exc:
            raise gr.Error(_one_line(exc), print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - the web boundary: the traceback goes to the log only
            log.exception("transfer failed")
            raise gr.Error(f"internal error: {_one_line(exc).splitlines()[0][:200]} (see the server log)",
                           print_exception=False) from None
        return result.image, result.image_lr, result.note

    return handle


def builtin_examples(engine: MakeupTransfer, folder: str | os.PathLike, seed: int = EXAMPLE_SEED
                     ) -> list[tuple[str, str]]:
    """Write the built-in examples as PNGs into ``folder``; return (source, reference) path pairs.

    Sources are the built-in bare faces; references are the same faces wearing a look drawn by the synthetic
    renderer (``sample_look(seed + i, style)``), so the examples are identical on every start.
    Each source is paired with the *other* face's made-up version.
    """
    from ..data.builtin import builtin_face, builtin_made_up

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources, references = [], []
    for i, (name, style) in enumerate(EXAMPLE_LOOKS):
        face = builtin_face(name)
        made_up = builtin_made_up(name, style, seed + i, engine.analyzer.landmark_detector)
        src, ref = folder / f"{name}.png", folder / f"{name}_{style}_makeup.png"
        write_image(src, face)
        write_image(ref, made_up)
        sources.append(str(src))
        references.append(str(ref))
    return [(s, references[(i + 1) % len(references)]) for i, s in enumerate(sources)]


# 64x64 uploads keep the box's size (gradio would shrink it to the image); examples sit high on the page.
CSS = """
.lrm-image img { object-fit: contain; image-rendering: auto; }
"""


def build_app(engine: MakeupTransfer, limits: UploadLimits | None = None,
              examples_dir: str | os.PathLike | None = None, cache_seconds: int = 900) -> gr.Blocks:
    """The page as a ``gr.Blocks``; launch it with :func:`launch` (which applies the request caps).

    cache_seconds: uploads and results in gradio's cache are deleted once older than this (checked every
    ``cache_seconds / 4``), so the server's temporary storage stays bounded.
    """
    limits = limits or UploadLimits()
    examples_dir = Path(examples_dir or tempfile.mkdtemp(prefix="lrmakeup-examples-"))
    examples = builtin_examples(engine, examples_dir)
    from gradio.utils import get_upload_folder

    roots = [Path(get_upload_folder()), examples_dir]
    image_size = engine.config.model.image_size
    n = engine.config.model.input_size
    untrained = "" if engine.trained else (
        "\n\n**Note:** this server runs an untrained (randomly initialised) model: the page shows the "
        "pipeline, not real makeup. Start it with `--checkpoint` for real results.")

    def image_input(label: str, elem_id: str, height: int = 260) -> gr.Image:
        return gr.Image(label=label, type="filepath", image_mode=None, sources=["upload"], elem_id=elem_id,
                        height=height, elem_classes=["lrm-image"])

    with gr.Blocks(title="lrmakeup", analytics_enabled=False,
                   delete_cache=(max(cache_seconds // 4, 1), cache_seconds)) as app:
        gr.Markdown(
            "# lrmakeup: makeup transfer on low-resolution faces\n"
            f"Upload a bare-face photo and a made-up photo, or pick an example below them. Faces are reduced to "
            f"{n}x{n}; each result face is {image_size}x{image_size}. Uploads up to "
            f"{_megabytes(limits.max_bytes)} and {limits.max_side} pixels a side." + untrained)
        with gr.Row(equal_height=True):
            source = image_input("source (bare face)", "source")
            reference = image_input("reference (made-up face)", "reference")
            result = gr.Image(label=f"result (x̃_SR: full photo or {image_size}x{image_size} face)", type="numpy",
                              format="png", interactive=False, elem_id="result", height=260,
                              elem_classes=["lrm-image"])
        gr.Examples(examples=[list(pair) for pair in examples], inputs=[source, reference],
                    label="built-in examples (source, reference): click one, then Transfer", elem_id="examples")
        with gr.Row():
            run_button = gr.Button("Transfer makeup", variant="primary", elem_id="run", scale=2)
            faces = gr.Dropdown(FACE_CHOICES, value="all", label="faces of the source photo", elem_id="faces",
                                scale=1)
            full_photo = gr.Checkbox(value=True, label="full photo (blend the faces back into the photo)",
                                     elem_id="full-photo", scale=1)
        note = gr.Textbox(label="what is shown", interactive=False, elem_id="note")
        with gr.Row():
            intensity = gr.Slider(0, 1, value=1, step=0.05, label="intensity", elem_id="intensity")
            sliders = [gr.Slider(0, 1, value=1, step=0.05, label=f"{r}", elem_id=f"{r}-intensity")
                       for r in REGIONS]
        with gr.Accordion("blend two references", open=False, elem_id="blend-controls"):
            with gr.Row():
                blend_ref = image_input("second reference (made-up face)", "blend-reference", height=200)
                blend = gr.Slider(0, 1, value=0.5, step=0.05, elem_id="blend",
                                  label="t: 0 = only the reference, 1 = only the second reference")
        with gr.Accordion("per-region references (partial transfer)", open=False):
            with gr.Row():
                region_refs = [image_input(f"{r} from", f"{r}-reference", height=200) for r in REGIONS]
        result_lr = gr.Image(label=f"low-resolution stage x̃_LR ({n}x{n} worth of detail, shown at "
                                   f"{image_size}x{image_size})", type="numpy", format="png", interactive=False,
                             elem_id="result-lr", height=260, elem_classes=["lrm-image"])
        # preprocess=False: gradio hands over the raw file dicts / data: URLs, and only image_from_bytes decodes
        run_button.click(make_handler(engine, limits, roots),
                         inputs=[source, reference, intensity, *sliders, *region_refs, full_photo, blend_ref, blend,
                                 faces],
                         outputs=[result, result_lr, note], api_name="transfer", preprocess=False)
    return app


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before it is read into memory (by its
    Content-Length, or while it streams in without one)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = (f'{{"error": "request body over the limit of {_megabytes(self.max_bytes)}"}}').encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def launch(app: gr.Blocks, limits: UploadLimits | None = None, host: str = "127.0.0.1", port: int = 7860,
           block: bool = True) -> None:
    """Serve ``app`` on host:port; gradio refuses uploads over ``limits.max_bytes`` before storing them, and
    :class:`BodyLimit` any request body larger than ``limits.max_request_bytes``.

    ``block=False`` returns once the server is up (tests); ``app.close()`` stops it. Gradio's own start-up
    lines (including its ``share=True`` advice, which this server does not offer) are not printed.
    """
    from starlette.middleware import Middleware

    limits = limits or UploadLimits()
    app.queue(default_concurrency_limit=1)  # one transfer at a time: the model is shared
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
               max_file_size=limits.max_bytes, show_error=False, footer_links=[], quiet=True,
               ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False,
               css=CSS,
               app_kwargs={"middleware": [Middleware(BodyLimit, max_bytes=limits.max_request_bytes)]})
