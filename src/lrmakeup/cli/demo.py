"""``lrmakeup demo``: the main job on built-in, license-clear inputs, written as one PNG panel.

The source is scikit-image's astronaut photo; the reference is matplotlib's Grace Hopper photo wearing a
renderer-made look (data/synthetic), so the demo needs no download and no research-only photo.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.builtin import builtin_face, builtin_made_up
from ..errors import InputError
from ..face import read_image, write_image
from .common import add_model_options, check_input_file, check_model_args, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the transfer on built-in faces and write a panel PNG")
    p.add_argument("--output", default="demo-output", help="folder for the demo images (created)")
    p.add_argument("--source", help="source photo (default: the built-in astronaut)")
    p.add_argument("--reference", help="reference photo (default: built-in Grace Hopper wearing a rendered look)")
    add_model_options(p)
    p.set_defaults(run=run)


def panel(tiles: list[tuple[str, np.ndarray]], size: int = 256) -> np.ndarray:
    """Lay images side by side at ``size`` (small inputs nearest-enlarged, so their pixels stay visible)."""
    pad, caption = 8, 18
    canvas = Image.new("RGB", (len(tiles) * (size + pad) + pad, size + caption + 2 * pad), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (title, img) in enumerate(tiles):
        tile = Image.fromarray(img)
        if tile.size != (size, size):
            tile = tile.resize((size, size), Image.NEAREST)
        x = pad + i * (size + pad)
        canvas.paste(tile, (x, pad + caption))
        draw.text((x, pad), title, fill="black")
    return np.asarray(canvas)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    for path, what in ((args.source, "source"), (args.reference, "reference")):
        if path:
            check_input_file(path, what)
    check_model_args(args)
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out} exists and is not a folder")
    timings = {}
    t = time.perf_counter()
    engine = load_model(args)
    timings["load model"] = time.perf_counter() - t
    t = time.perf_counter()
    source = read_image(args.source) if args.source else builtin_face("astronaut")
    reference = (read_image(args.reference) if args.reference
                 else builtin_made_up("grace_hopper", detector=engine.analyzer.landmark_detector))
    timings["inputs (render the reference)"] = time.perf_counter() - t
    t = time.perf_counter()
    src, ref = engine.analyze(source), engine.analyze(reference)
    timings["face analysis (2 photos)"] = time.perf_counter() - t
    t = time.perf_counter()
    result = engine.transfer(src, ref)
    timings["transfer (64x64 -> 256x256)"] = time.perf_counter() - t
    size = engine.config.model.image_size
    bicubic = np.asarray(Image.fromarray(src.image_lr).resize((size, size), Image.BICUBIC))
    tiles = [
        ("source 64x64", src.image_lr),
        ("reference 64x64", ref.image_lr),
        ("bicubic 4x of source", bicubic),
        (f"result {size}x{size}" + ("" if engine.trained else " (UNTRAINED)"), result.image),
    ]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "demo.png"
    write_image(path, panel(tiles, size))
    write_image(out / "result.png", result.image)
    for step, seconds in timings.items():
        print(f"{step:>30}: {seconds:6.2f} s")
    print(f"wrote {path} (source | reference | bicubic | result) and {out / 'result.png'}")
    if not engine.trained:
        print("note: no trained weights are installed: the model is randomly initialised, so the panel shows "
              "the pipeline, not a real transfer")
    return 0
