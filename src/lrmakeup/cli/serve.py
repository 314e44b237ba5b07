"""``lrmakeup serve``: the web page (Gradio) on host:port, with the model loaded once at start-up."""

from __future__ import annotations

import argparse

from ..errors import InputError
from .common import add_model_options, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the makeup-transfer web page (Gradio)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--max-upload-mb", type=float, default=10.0, help="largest accepted upload in MB (default: 10)")
    p.add_argument("--max-side", type=int, default=4096, help="largest accepted image side in pixels (default: 4096)")
    p.add_argument("--max-megapixels", type=float, default=None,
                   help="largest accepted image area in megapixels (default: 16.8, i.e. 4096x4096)")
    p.add_argument("--cache-minutes", type=float, default=15.0,
                   help="uploads and results are deleted from the server's temporary folder after this many "
                        "minutes (default: 15)")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise InputError(f"--port must lie in 1..65535, got {args.port}")
    if not args.cache_minutes > 0:
        raise InputError(f"--cache-minutes must be > 0, got {args.cache_minutes}")
    try:
        from ..serving.web import UploadLimits, build_app, launch
    except ImportError as exc:
        raise InputError(f"lrmakeup serve needs gradio ({exc.name} is not installed): "
                         "pip install 'lrmakeup[serve]'") from exc
    pixels = {} if args.max_megapixels is None else {"max_pixels": int(args.max_megapixels * 1e6)}
    limits = UploadLimits(max_bytes=int(args.max_upload_mb * 1024 * 1024), max_side=args.max_side, **pixels)
    engine = load_model(args)
    app = build_app(engine, limits, cache_seconds=max(int(args.cache_minutes * 60), 1))
    print(f"lrmakeup: serving on http://{args.host}:{args.port} (Ctrl+C stops)")
    try:
        launch(app, limits, host=args.host, port=args.port, block=True)
    except OSError as exc:  # gradio: "Cannot find empty port in range ..." and bind errors
        raise InputError(f"cannot serve on {args.host}:{args.port}: {str(exc).splitlines()[0]}") from exc
    return 0
