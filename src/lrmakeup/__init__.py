"""lrmakeup: makeup transfer on low-resolution faces (64x64 in, 256x256 out)."""

__version__ = "0.1.0"
