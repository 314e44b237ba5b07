"""The web page: ``lrmakeup serve`` (Gradio). Upload a bare face and a made-up one, see the result.

The page is a thin layer over :class:`lrmakeup.api.MakeupTransfer` (METHOD §5, inference only):

- inputs: source and reference photos (or the built-in examples), global + lips / skin / eyes intensities,
  optional per-region references (partial transfer), full photo (paste-back) vs the 256x256 face crop;
- outputs: the result x̃_SR beside the low-resolution stage x̃_LR, and a one-line note on what was shown.

Uploads are checked before any decoding: file size (``UploadLimits.max_bytes``; gradio's own upload route
enforces the same cap) and image dimensions read from the header (``max_side``), then decoded by
:func:`lrmakeup.face.io.decode_image`, which refuses decompression bombs and truncated files. Every
lrmakeup error reaches the page as one line (``gr.Error``), never a traceback.

Nothing here contacts the internet: analytics are off, no share link, the default theme's fonts are local.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class UploadLimits:
    """Caps on one uploaded image: bytes on disk and pixels per side."""

    max_bytes: int = 10 * 1024 * 1024
    max_side: int = 4096

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_side <= 0:
            raise InputError(f"upload limits must be positive, got {self.max_bytes} bytes and {self.max_side} px")


def _megabytes(n: int) -> str:
    """Bytes as the page says them: '10.0 MB', or '300 KB' under a megabyte."""
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(n, 1) / 1024:.0f} KB"


def load_upload(path: str | os.PathLike, limits: UploadLimits, what: str) -> np.ndarray:
    """One uploaded file -> (H, W, 3) uint8 RGB, or InputError naming ``what`` and the cap it breaks.

    Order matters: the byte size is checked before reading, the dimensions (from the header, without
    decoding the pixels) before decoding.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"the {what} upload is missing; please upload it again") from exc
    if size > limits.max_bytes:
        raise InputError(f"the {what} is {_megabytes(size)}; uploads are limited to {_megabytes(limits.max_bytes)}")
    data = path.read_bytes()
    dims = _header_size(data)
    if dims is not None and max(dims) > limits.max_side:
        raise InputError(f"the {what} is {dims[0]}x{dims[1]} pixels; images are limited to "
                         f"{limits.max_side} pixels a side")
    image = decode_image(data, name=f"the {what}")
    if max(image.shape[:2]) > limits.max_side:  # e.g. an EXIF rotation the header check could not see
        raise InputError(f"the {what} is {image.shape[1]}x{image.shape[0]} pixels; images are limited to "
                         f"{limits.max_side} pixels a side")
    return image


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding pixels; None when Pillow cannot tell."""
    import io

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=READ_FORMATS) as im:
                return im.size
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS, Image.MAX_IMAGE_PIXELS)  # beyond any sane cap
    except Exception:  # noqa: BLE001 - not an image: decode_image gives the proper message
        return None


@dataclass
class WebRequest:
    """What the page sends: file paths of the uploads (None when empty) and the controls."""

    source: str | None
    reference: str | None
    intensity: float = 1.0
    lips: float = 1.0
    skin: float = 1.0
    eyes: float = 1.0
    lips_reference: str | None = None
    skin_reference: str | None = None
    eyes_reference: str | None = None
    full_photo: bool = True


@dataclass
class WebResult:
    image: np.ndarray  # the full photo with the face pasted back, or the 256x256 face
    image_lr: np.ndarray  # x̃_LR, the low-resolution stage
    note: str  # one line: what is shown


def run_request(engine: MakeupTransfer, limits: UploadLimits, request: WebRequest) -> WebResult:
    """The page's work without gradio: check and decode the uploads, transfer, choose crop or paste-back."""
    if not request.source:
        raise InputError("please upload a source photo (the bare face) or pick an example")
    if not request.reference:
        raise InputError("please upload a reference photo (the made-up face) or pick an example")
    photo = load_upload(request.source, limits, "source photo")
    reference = load_upload(request.reference, limits, "reference photo")
    references = {r: load_upload(p, limits, f"{r} reference")
                  for r in REGIONS if (p := getattr(request, f"{r}_reference"))}
    controls = MakeupControls(
        intensity=float(request.intensity),
        regions={r: float(getattr(request, r)) for r in REGIONS},
        references=references,
    )
    pasted, results = engine.transfer_photo(photo, reference, controls=controls)
    first = results[0]
    size = engine.config.model.image_size
    if request.full_photo and wants_paste_back(photo, first.source, size):
        note = f"full photo ({photo.shape[1]}x{photo.shape[0]}) with the made-up face blended back"
        image = pasted
    elif request.full_photo:
        note = f"{size}x{size} face: the photo is itself a face crop, so the face holds more detail"
        image = first.image
    else:
        note = f"{size}x{size} face crop"
        image = first.image
    if first.source.num_faces > 1:
        note += f" (the largest of {first.source.num_faces} faces)"
    return WebResult(image=image, image_lr=first.image_lr, note=note)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def make_handler(engine: MakeupTransfer, limits: UploadLimits):
    """The gradio callback: lrmakeup errors become a one-line ``gr.Error``; bugs are logged, not shown."""

    def handle(source, reference, intensity, lips, skin, eyes, lips_ref, skin_ref, eyes_ref, full_photo):
        request = WebRequest(source, reference, intensity, lips, skin, eyes, lips_ref, skin_ref, eyes_ref,
                             bool(full_photo))
        try:
            result = run_request(engine, limits, request)
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


def build_app(engine: MakeupTransfer, limits: UploadLimits | None = None,
              examples_dir: str | os.PathLike | None = None) -> gr.Blocks:
    """The page as a ``gr.Blocks``; launch it with :func:`launch` (which applies the upload cap)."""
    limits = limits or UploadLimits()
    examples_dir = Path(examples_dir or tempfile.mkdtemp(prefix="lrmakeup-examples-"))
    examples = builtin_examples(engine, examples_dir)
    image_size = engine.config.model.image_size
    untrained = "" if engine.trained else (
        "\n\n**Note:** this server runs an untrained (randomly initialised) model: the page shows the "
        "pipeline, not real makeup. Start it with `--checkpoint` for real results.")

    with gr.Blocks(title="lrmakeup", analytics_enabled=False) as app:
        gr.Markdown(
            "# lrmakeup: makeup transfer on low-resolution faces\n"
            f"Upload a bare-face photo and a made-up photo (or pick an example). Both faces are reduced to "
            f"{engine.config.model.input_size}x{engine.config.model.input_size}; the result is "
            f"{image_size}x{image_size}. Uploads up to {_megabytes(limits.max_bytes)} and "
            f"{limits.max_side} pixels a side." + untrained)
        with gr.Row():
            source = gr.Image(label="source (bare face)", type="filepath", image_mode=None,
                              sources=["upload"], elem_id="source")
            reference = gr.Image(label="reference (made-up face)", type="filepath", image_mode=None,
                                 sources=["upload"], elem_id="reference")
        with gr.Row():
            intensity = gr.Slider(0, 1, value=1, step=0.05, label="intensity", elem_id="intensity")
            sliders = [gr.Slider(0, 1, value=1, step=0.05, label=f"{r}", elem_id=f"{r}-intensity")
                       for r in REGIONS]
        with gr.Accordion("per-region references (partial transfer)", open=False):
            with gr.Row():
                region_refs = [gr.Image(label=f"{r} from", type="filepath", image_mode=None,
                                        sources=["upload"], elem_id=f"{r}-reference") for r in REGIONS]
        full_photo = gr.Checkbox(value=True, label="full photo (blend the face back into the photo)",
                                 elem_id="full-photo")
        run_button = gr.Button("Transfer makeup", variant="primary", elem_id="run")
        with gr.Row():
            result = gr.Image(label="result", type="numpy", format="png", interactive=False, elem_id="result")
            result_lr = gr.Image(label="low-resolution stage", type="numpy", format="png", interactive=False,
                                 elem_id="result-lr")
        note = gr.Textbox(label="shown", interactive=False, elem_id="note")
        gr.Examples(examples=[list(pair) for pair in examples], inputs=[source, reference],
                    label="built-in examples (source, reference)", elem_id="examples")
        run_button.click(make_handler(engine, limits),
                         inputs=[source, reference, intensity, *sliders, *region_refs, full_photo],
                         outputs=[result, result_lr, note], api_name="transfer")
    return app


def launch(app: gr.Blocks, limits: UploadLimits | None = None, host: str = "127.0.0.1", port: int = 7860,
           block: bool = True) -> None:
    """Serve ``app`` on host:port; gradio refuses uploads over ``limits.max_bytes`` before storing them.

    ``block=False`` returns once the server is up (tests); ``app.close()`` stops it.
    """
    limits = limits or UploadLimits()
    app.queue(default_concurrency_limit=1)  # one transfer at a time: the model is shared
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
               max_file_size=limits.max_bytes, show_error=False, footer_links=[], quiet=not block,
               ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False)
