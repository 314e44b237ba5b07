"""Parametric makeup looks: what a makeup artist puts on a face, as numbers (serialisable to JSON).

A :class:`MakeupLook` is six products, each a small frozen dataclass. Every product has an
``opacity`` (or ``coverage``); 0 switches it off, so ``MakeupLook()`` is a bare face and rendering it
changes nothing. Colours are sRGB ``(r, g, b)`` integers 0..255: the colour the product shows on the
face (mean colour of the lips for an opaque lipstick), not the colour in the tube.
Geometry is relative to the face, so a look renders on any face at any resolution.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lrmakeup.errors import ConfigError
from lrmakeup.fileio import atomic_write

RGB = tuple[int, int, int]
FORMAT = "lrmakeup-look-v1"


def _check_rgb(name: str, value: Any) -> RGB:
    try:
        rgb = tuple(int(v) for v in value)
        exact = all(float(v) == int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an (r, g, b) triple of integers 0..255, got {value!r}") from exc
    if len(rgb) != 3 or not exact or not all(0 <= v <= 255 for v in rgb):
        raise ConfigError(f"{name} must be an (r, g, b) triple of integers 0..255, got {value!r}")
    return rgb  # type: ignore[return-value]


def _check_range(name: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}") from exc
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return number


class _Product:
    """Validation shared by the products: colour fields are RGB triples, the others bounded floats."""

    _ranges: dict[str, tuple[float, float]] = {}

    def __post_init__(self) -> None:
        kind = type(self).__name__
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name == "color":
                object.__setattr__(self, f.name, _check_rgb(f"{kind}.color", value))
            elif f.name == "position":
                pos = tuple(value) if isinstance(value, (list, tuple)) else None
                if pos is None or len(pos) != 2:
                    raise ConfigError(f"{kind}.position must be a pair (dx, dy) in [-1, 1], got {value!r}")
                pos = tuple(_check_range(f"{kind}.position", v, -1.0, 1.0) for v in pos)
                object.__setattr__(self, f.name, pos)
            else:
                low, high = self._ranges[f.name]
                object.__setattr__(self, f.name, _check_range(f"{kind}.{f.name}", value, low, high))

    @property
    def active(self) -> bool:
        return getattr(self, "opacity", getattr(self, "coverage", 0.0)) > 0.0


@dataclass(frozen=True)
class Lipstick(_Product):
    """Lip colour over the upper and lower lip (never the inner mouth). ``gloss`` adds a specular sheen."""

    color: RGB = (180, 60, 80)
    opacity: float = 0.0  # 1 = the lips' mean colour becomes ``color`` (their texture and shading stay)
    gloss: float = 0.0  # 0 matte .. 1 wet-look highlight on the lower lip
    _ranges = {"opacity": (0.0, 1.0), "gloss": (0.0, 1.0)}


@dataclass(frozen=True)
class EyeShadow(_Product):
    """Colour on the upper lid, from the lash line up towards the brow."""

    color: RGB = (140, 95, 70)
    opacity: float = 0.0
    extent: float = 0.5  # 0 = a thin band on the lid .. 1 = up to just below the brow
    gradient: float = 0.5  # 0 = even colour .. 1 = fades out completely towards the top
    _ranges = {"opacity": (0.0, 1.0), "extent": (0.0, 1.0), "gradient": (0.0, 1.0)}


@dataclass(frozen=True)
class Eyeliner(_Product):
    """A line along the upper lash line, thicker at the outer corner, with an optional wing."""

    color: RGB = (25, 22, 24)
    opacity: float = 0.0
    thickness: float = 0.5  # 0 = hairline .. 1 = bold (about 1/8 of the eye's width at the outer corner)
    wing: float = 0.0  # 0 = no wing .. 1 = a long flick (about half the eye's width)
    _ranges = {"opacity": (0.0, 1.0), "thickness": (0.0, 1.0), "wing": (0.0, 1.0)}


@dataclass(frozen=True)
class Blush(_Product):
    """A soft ellipse of colour on each cheek, along the cheekbone."""

    color: RGB = (230, 120, 130)
    opacity: float = 0.0
    position: tuple[float, float] = (0.0, 0.0)  # (outward, upward) shift of the cheek centre, each in [-1, 1]
    size: float = 0.5  # 0 = small .. 1 = large
    _ranges = {"opacity": (0.0, 1.0), "size": (0.0, 1.0)}


@dataclass(frozen=True)
class Foundation(_Product):
    """A skin-tone layer over the face skin: evens the colour towards ``color`` and smooths slightly."""

    color: RGB = (215, 175, 150)
    coverage: float = 0.0  # 0 = none .. 1 = full coverage (the skin's mean colour becomes ``color``)
    smoothing: float = 0.0  # strength of the edge-preserving smoothing (0 = none .. 1 = strong, still textured)
    _ranges = {"coverage": (0.0, 1.0), "smoothing": (0.0, 1.0)}

    @property
    def active(self) -> bool:
        return self.coverage > 0.0 or self.smoothing > 0.0


@dataclass(frozen=True)
class BrowTint(_Product):
    """Tinted or filled brows (pencil, pomade) within the brow regions."""

    color: RGB = (70, 50, 40)
    opacity: float = 0.0
    _ranges = {"opacity": (0.0, 1.0)}


PRODUCTS: dict[str, type] = {
    "foundation": Foundation,
    "blush": Blush,
    "eye_shadow": EyeShadow,
    "eyeliner": Eyeliner,
    "brow": BrowTint,
    "lipstick": Lipstick,
}  # also the order in which render() applies them (base layers first)


@dataclass(frozen=True)
class MakeupLook:
    """A full look; the default is a bare face. ``style`` is a free label (the sampler's style)."""

    foundation: Foundation = field(default_factory=Foundation)
    blush: Blush = field(default_factory=Blush)
    eye_shadow: EyeShadow = field(default_factory=EyeShadow)
    eyeliner: Eyeliner = field(default_factory=Eyeliner)
    brow: BrowTint = field(default_factory=BrowTint)
    lipstick: Lipstick = field(default_factory=Lipstick)
    style: str | None = None

    def products(self) -> dict[str, _Product]:
        """The six products by name, in the order render() applies them."""
        return {name: getattr(self, name) for name in PRODUCTS}

    def active_products(self) -> list[str]:
        return [name for name, product in self.products().items() if product.active]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists) that :meth:`from_dict` reads back to an equal look."""
        out: dict[str, Any] = {"format": FORMAT, "style": self.style}
        for name, product in self.products().items():
            out[name] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(product).items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MakeupLook":
        """Inverse of :meth:`to_dict`; missing products/fields take their defaults; unknown keys are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"a makeup look must be a JSON object, got {type(data).__name__}")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise ConfigError(f"unknown makeup look format {fmt!r} (expected {FORMAT!r})")
        unknown = set(data) - set(PRODUCTS) - {"format", "style"}
        if unknown:
            raise ConfigError(f"unknown key(s) in makeup look: {', '.join(sorted(unknown))}")
        style = data.get("style")
        if style is not None and not isinstance(style, str):
            raise ConfigError(f"makeup look style must be a string or null, got {style!r}")
        products = {}
        for name, kind in PRODUCTS.items():
            values = data.get(name, {})
            if not isinstance(values, dict):
                raise ConfigError(f"makeup look entry {name!r} must be an object, got {values!r}")
            known = {f.name for f in fields(kind)}
            extra = set(values) - known
            if extra:
                raise ConfigError(f"unknown field(s) of {name}: {', '.join(sorted(extra))}")
            products[name] = kind(**values)
        return cls(style=style, **products)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "MakeupLook":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"makeup look is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        """Write the look as JSON, atomically."""
        text = self.to_json()
        atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> "MakeupLook":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read makeup look {path}: {exc.strerror or exc}") from exc
        return cls.from_json(text)
