"""voiceguide: an offline, hands-free, voice-guided routine assistant."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voiceguide")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
