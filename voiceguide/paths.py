"""Where voiceguide keeps things on this machine (platformdirs), each overridable by a flag."""

from __future__ import annotations

from pathlib import Path

__all__ = ["APP", "repo_root", "user_cache_dir", "user_config_dir", "user_data_dir", "user_packs_dir"]

APP = "voiceguide"


def user_data_dir() -> Path:
    """History, checkpoints, user packs and downloaded models."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def user_cache_dir() -> Path:
    """Rendered narration (can be deleted at any time)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def user_config_dir() -> Path:
    """The config file."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def user_packs_dir() -> Path:
    """Packs the user installed or wrote."""
    return user_data_dir() / "packs"


def repo_root() -> Path | None:
    """The source checkout this package runs from, if any (for `models/`)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None
