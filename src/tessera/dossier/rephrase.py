"""Optional rephrasing of a dossier's summary by a *local* language model (off by default).

The summary (:mod:`tessera.dossier.summary`) is deterministic text built from the
dossier's facts. An analyst may ask a language model served on their own machine to
make it read better: ``tessera dossier WS PERSON --rephrase-endpoint URL`` (or the
``TESSERA_REPHRASE_ENDPOINT`` environment variable) with an OpenAI-compatible
chat-completions endpoint (llama.cpp's ``llama-server``, vLLM, Ollama's ``/v1``).

Safeguards, because a dossier is personal data and a model may invent:

- **Local only.** The endpoint's host must be a loopback address (``localhost``,
  ``127.0.0.0/8``, ``::1``); anything else is refused before a byte is sent. Tessera
  never sends a dossier over the network.
- **Sentence by sentence.** Each sentence is rephrased on its own and keeps its own
  citations, so every rephrased sentence still points at the facts behind it.
- **Nothing new.** A rephrased sentence is kept only when its *facts* are the
  original's: the same multiset of tokens that contain a digit (numbers, identifiers,
  percentages, dates, with trailing punctuation stripped), and no token with a digit
  that the original lacks. Otherwise the original sentence is kept and the reason
  recorded. Names are not checked: the model is told to keep them verbatim.
- **Both kept.** ``summary.text`` stays the deterministic text; the result goes to
  ``summary.rephrased`` (``text``, ``model``, ``endpoint``, and per sentence whether
  the model's version was kept and why not).

The call uses the standard library (``urllib``) with no proxy and no redirects (so
nothing is forwarded off the machine), a time limit per sentence, and temperature 0.
An endpoint that fails leaves the dossier as it was, with the error in
``summary.rephrased.error``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import Any

from tessera.errors import DossierError

ENV_ENDPOINT = "TESSERA_REPHRASE_ENDPOINT"
ENV_MODEL = "TESSERA_REPHRASE_MODEL"
TIMEOUT_S = 30.0
PROMPT = (
    "Rephrase the sentence below from an analyst's report so that it reads naturally. "
    "Keep every name, number, identifier, date and unit exactly as written; add nothing, "
    "drop nothing, do not speculate. Answer with the rephrased sentence only."
)
_FACT = re.compile(r"\S*\d\S*")
_STRIP = ".,;:!?)(\"'[]"


def facts(text: str) -> Counter[str]:
    """The tokens of ``text`` that contain a digit, outer punctuation stripped."""
    return Counter(t.strip(_STRIP) for t in _FACT.findall(text))


def check_endpoint(url: str) -> str:
    """``url`` if it is an http(s) URL on a loopback host; :class:`DossierError`
    otherwise (a dossier never leaves the machine)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DossierError(f"rephrase endpoint {url!r} must be an http(s) URL")
    host = parts.hostname
    loopback = host == "localhost"
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback:
        raise DossierError(
            f"rephrase endpoint host {host!r} is not a loopback address: only a language "
            "model on this machine (localhost, 127.0.0.1, ::1) may see a dossier"
        )
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("the rephrase endpoint answered with a redirect (refused)")


def _ask(url: str, model: str, sentence: str, timeout: float) -> str:
    body = json.dumps(
        {
            "model": model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": sentence},
            ],
        }
    ).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    # no proxy (HTTP_PROXY must not carry a dossier off the machine) and no redirect
    # (a loopback endpoint must not forward it elsewhere)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    with opener.open(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    try:
        return str(reply["choices"][0]["message"]["content"]).strip()
    except (KeyError, IndexError, TypeError):
        raise ValueError("the endpoint's reply has no choices[0].message.content") from None


def rephrase(
    dossier: dict[str, Any], endpoint: str, model: str = "local", timeout: float = TIMEOUT_S
) -> dict[str, Any]:
    """A copy of ``dossier`` with ``summary.rephrased`` added (see the module
    docstring); ``dossier`` itself is not changed."""
    url = check_endpoint(endpoint)
    summary = dossier["summary"]
    sentences: list[dict[str, Any]] = []
    error: str | None = None
    for s in summary["sentences"]:
        original = s["text"]
        kept, why, text = False, None, original
        if error is None:
            try:
                candidate = _ask(url, model, original, timeout)
            except (OSError, ValueError, urllib.error.URLError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                why = "endpoint failed"
            else:
                if not candidate:
                    why = "empty answer"
                elif facts(candidate) != facts(original):
                    why = "numbers or identifiers differ from the original"
                else:
                    kept, text = True, candidate
        else:
            why = "endpoint failed"
        sentences.append(
            {"text": text, "cites": s["cites"], "rephrased": kept, "kept_original": why}
        )
    rephrased: dict[str, Any] = {
        "endpoint": url,
        "model": model,
        "text": " ".join(x["text"] for x in sentences),
        "sentences": sentences,
        "error": error,
    }
    return {**dossier, "summary": {**summary, "rephrased": rephrased}}
