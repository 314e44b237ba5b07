"""``lrmakeup demo``: the main job on built-in, license-clear faces, written as one PNG panel."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.builtin import builtin_face
from ..face import write_image
from .common import add_model_options, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the transfer on built-in faces and write a panel PNG")
    p.add_argument("--output", default="demo-output", help="folder for the demo images (created)")
    p.add_argument("--source", default="astronaut", help="built-in face used as the bare source")
    p.add_argument("--reference", default="grace_hopper", help="built-in face used as the reference")
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
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t = time.perf_counter()
    model = load_model(args)
    timings["load model"] = time.perf_counter() - t
    t = time.perf_counter()
    src = model.analyze(builtin_face(args.source))
    ref = model.analyze(builtin_face(args.reference))
    timings["face analysis (2 faces)"] = time.perf_counter() - t
    t = time.perf_counter()
    result = model.transfer(src, ref)
    timings["transfer"] = time.perf_counter() - t
    bicubic = np.asarray(Image.fromarray(src.image_lr).resize((256, 256), Image.BICUBIC))
    tiles = [
        ("source 64x64", src.image_lr),
        ("reference 64x64", ref.image_lr),
        ("bicubic 4x of source", bicubic),
        ("result 256x256" + ("" if model.trained else " (UNTRAINED)"), result.image),
    ]
    path = out / "demo.png"
    write_image(path, panel(tiles))
    write_image(out / "result.png", result.image)
    for step, seconds in timings.items():
        print(f"{step:>26}: {seconds:6.2f} s")
    print(f"wrote {path} (panel) and {out / 'result.png'} (the 256x256 result)")
    if not model.trained:
        print("note: the weights are untrained (random); the panel shows the pipeline, not a real transfer")
    return 0
