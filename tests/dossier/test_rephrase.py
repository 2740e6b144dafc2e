"""Optional rephrasing of a dossier's summary by a local model: loopback only, sentence
by sentence, a sentence kept only when its facts match, the original always kept."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tessera.audit import Access
from tessera.cli import app
from tessera.dossier import render, schema, store
from tessera.dossier.rephrase import check_endpoint, facts, rephrase
from tessera.errors import DossierError
from tessera.workspace import Workspace

ACCESS = Access(user="analyst1", case="CASE-2026-001", legal_basis="synthetic_demo")
ENV = {"TESSERA_USER": "analyst1", "TESSERA_CASE": "CASE-7", "TESSERA_LEGAL_BASIS": "research"}


class _Model(BaseHTTPRequestHandler):
    """A stand-in chat-completions endpoint: prefixes each sentence, and changes the
    numbers of sentences about confidence (an invention the check must catch)."""

    seen: list[dict[str, Any]] = []  # noqa: RUF012 (shared by the test on purpose)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Model.seen.append(body)
        sentence = body["messages"][-1]["content"]
        if "confidence" in sentence:
            answer = re.sub(r"\d+\.\d+", "0.99", sentence)
        else:
            answer = "In short, " + sentence
        data = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def built(linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rephrase") / "ws"
    shutil.copytree(linked[1], path)
    return path


@pytest.fixture(scope="module")
def dossier(built: Path) -> dict[str, Any]:
    """A dossier whose summary has a sentence about a device's confidence and others."""
    with Workspace.open(built) as ws:
        for d in store.read_all(ws, ACCESS):
            texts = [s["text"] for s in d["summary"]["sentences"]]
            if len(texts) >= 3 and any("confidence" in t for t in texts):
                return d
    raise AssertionError("no dossier with a device sentence in the fixture")


def test_facts_are_the_tokens_with_digits() -> None:
    assert facts("Uses device imsi:262011 (number 4915), confidence 0.95.") == {
        "imsi:262011": 1,
        "4915": 1,
        "0.95": 1,
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8080/v1/chat/completions",
        "https://api.example.com/v1/chat/completions",
        "http://localhost.example.com/v1",
        "ftp://127.0.0.1/x",
        "not a url",
    ],
)
def test_only_loopback_endpoints_are_accepted(url: str) -> None:
    with pytest.raises(DossierError):
        check_endpoint(url)


def test_loopback_endpoints_are_accepted() -> None:
    for url in ("http://localhost:8080/v1", "http://127.0.0.2/v1", "http://[::1]:9/v1"):
        assert check_endpoint(url) == url


def test_sentences_keep_their_facts_and_citations(dossier: dict[str, Any], endpoint: str) -> None:
    _Model.seen.clear()
    out = rephrase(dossier, endpoint, model="test-model")
    original = dossier["summary"]
    assert "rephrased" not in original  # the input is not changed
    assert out["summary"]["text"] == original["text"]  # the deterministic text stays
    r = out["summary"]["rephrased"]
    assert r["model"] == "test-model"
    assert r["error"] is None
    assert len(_Model.seen) == len(original["sentences"])
    assert all(body["temperature"] == 0 for body in _Model.seen)
    assert len(r["sentences"]) == len(original["sentences"])
    for mine, theirs in zip(r["sentences"], original["sentences"], strict=True):
        assert mine["cites"] == theirs["cites"]
        if "confidence" in theirs["text"]:
            # the model changed the numbers: refused, the original kept
            assert not mine["rephrased"]
            assert mine["text"] == theirs["text"]
            assert "numbers" in mine["kept_original"]
        else:
            assert mine["rephrased"]
            assert mine["text"] == "In short, " + theirs["text"]
    schema.validate(out)


def test_a_failing_endpoint_leaves_the_original(dossier: dict[str, Any]) -> None:
    out = rephrase(dossier, "http://127.0.0.1:9/v1/chat/completions", timeout=2)
    r = out["summary"]["rephrased"]
    assert r["error"]
    assert [s["text"] for s in r["sentences"]] == [
        s["text"] for s in dossier["summary"]["sentences"]
    ]
    assert not any(s["rephrased"] for s in r["sentences"])


def test_cli_rephrases_on_request_and_renders_the_note(
    built: Path, dossier: dict[str, Any], endpoint: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    person = dossier["person"]
    result = runner.invoke(app, ["dossier", str(built), person], env=ENV)
    assert result.exit_code == 0, result.output
    assert "rephrased" not in json.loads(result.output)["summary"]  # off by default

    result = runner.invoke(
        app, ["dossier", str(built), person], env={**ENV, "TESSERA_REPHRASE_ENDPOINT": endpoint}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["rephrased"]["sentences"]

    result = runner.invoke(
        app,
        ["dossier", str(built), person, "--rephrase-endpoint", "http://192.0.2.1/v1"],
        env=ENV,
    )
    assert result.exit_code == 1
    assert "loopback" in result.output

    html = render.render_html(rephrase(dossier, endpoint))
    assert "Rephrased by the local model" in html
    assert "In short, " in html


class _Redirect(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(307)
        self.send_header("Location", "http://192.0.2.1/v1/chat/completions")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_a_redirect_off_the_machine_is_not_followed(dossier: dict[str, Any]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
        r = rephrase(dossier, url, timeout=2)["summary"]["rephrased"]
    finally:
        server.shutdown()
        server.server_close()
    assert "redirect" in r["error"]
    assert not any(s["rephrased"] for s in r["sentences"])
