"""The shared conformance corpus (tests/conformance/, see its README.md) through
``worker.Project``, with every KV namespace served by a KV store written in Python.

One test per case; each reports every mismatch of its requests together. Limit the run with
``WK_CONFORMANCE=case_a,case_b``.
"""
from __future__ import annotations

import json
import os
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, List

import pytest

import worker
from stores import AsyncDictKv, DictKv

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "conformance"
CONFIGS = ("wrangler.jsonc", "wrangler.json", "wrangler.toml")
DEFAULT_HOST = "127.0.0.1:8787"


def cases() -> List[str]:
    wanted = {c.strip() for c in os.environ.get("WK_CONFORMANCE", "").split(",") if c.strip()}
    found = sorted(p.name for p in CORPUS.iterdir() if (p / "requests.json").is_file())
    return [c for c in found if not wanted or c in wanted]


def same(a: Any, b: Any) -> bool:
    """JSON deep equality: key order aside, and unlike ``==``, true is not 1 and 1 is not 1.0
    only in type (JSON numbers compare by value)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
              "te", "trailer"}


def as_http(method: str, res: worker.Response) -> worker.Response:
    """The response as an HTTP/1.1 client of ``wk serve`` sees it, which is what the corpus
    describes: the canonical reason phrase when the worker set none, no hop-by-hop headers,
    ``content-length`` from the body (the worker's own only for a bodiless HEAD), and no body
    for HEAD; a status HTTP cannot carry becomes the server's own 500."""
    if not 100 <= res.status <= 999:
        # Not an HTTP status (Response.error() has 0): the server answers 500 itself.
        return worker.Response(500, "Internal Server Error", [], b"the worker returned status 0")
    try:
        phrase = res.status_text or HTTPStatus(res.status).phrase
    except ValueError:
        phrase = res.status_text
    headers = [(k.lower(), v) for k, v in res.headers
               if k.lower() not in HOP_BY_HOP
               and (k.lower() != "content-length" or (method == "HEAD" and not res.body))]
    if res.status not in (204, 304) and res.status >= 200 and not any(k == "content-length" for k, _ in headers):
        headers.append(("content-length", str(len(res.body))))
    body = b"" if method == "HEAD" else res.body
    return worker.Response(res.status, phrase, headers, body, res.logs, res.duration)


def check(expect: dict, res: worker.Response) -> List[str]:
    problems = []
    if "status" in expect and res.status != expect["status"]:
        problems.append(f"status {res.status}, expected {expect['status']}")
    if "statusText" in expect and res.status_text != expect["statusText"]:
        problems.append(f"statusText {res.status_text!r}, expected {expect['statusText']!r}")
    for name, want in expect.get("headers", {}).items():
        values = res.header_values(name)
        if want is None:
            if values:
                problems.append(f"header {name} is {values}, expected absent")
        elif isinstance(want, list):
            if values != want:
                problems.append(f"header {name} is {values}, expected {want}")
        elif ", ".join(values) != want or not values:
            problems.append(f"header {name} is {values}, expected {want!r}")
    text = res.text()
    if "body" in expect and text != expect["body"]:
        problems.append(f"body {text[:300]!r}, expected {expect['body'][:300]!r}")
    contains = expect.get("bodyContains", [])
    for part in [contains] if isinstance(contains, str) else contains:
        if part not in text:
            problems.append(f"body {text[:300]!r} does not contain {part!r}")
    if "json" in expect:
        try:
            got = json.loads(text)
        except ValueError:
            problems.append(f"body is not JSON: {text[:300]!r}")
        else:
            if not same(got, expect["json"]):
                problems.append(f"json {json.dumps(got)[:1500]}\n      expected {json.dumps(expect['json'])[:1500]}")
    return problems


def run_case(case: str, tmp_path: Path, kv_class: type) -> None:
    directory = CORPUS / case
    config = next((directory / n for n in CONFIGS if (directory / n).is_file()), None)
    kv = {}
    if config is not None:
        declared = worker.read_config(str(config))
        kv = {ns["binding"]: kv_class() for ns in declared.get("kv_namespaces", [])}
    requests = json.loads((directory / "requests.json").read_text())
    failures = []
    with worker.Engine(worker.EngineConfig(pool_size=1)) as engine:
        project = worker.Project(engine, str(config or directory / "worker.js"),
                                 state_dir=str(tmp_path / "state"), env=worker.Env(kv=kv))
        with project:
            for r in requests:
                if "delayMs" in r:
                    time.sleep(r["delayMs"] / 1000)
                headers = [tuple(h) for h in r.get("headers", [])]
                host = next((v for k, v in headers if k.lower() == "host"), None)
                if host is None:
                    headers.append(("host", DEFAULT_HOST))
                    host = DEFAULT_HOST
                request = worker.Request(r.get("method", "GET"), f"http://{host}{r['path']}",
                                         headers, r.get("body"))
                try:
                    res = project.fetch(request)
                except worker.WorkerError as e:
                    # What a client gets when the worker fails: an error page with status 500.
                    res = worker.Response(500, "Internal Server Error", [], str(e).encode())
                problems = check(r.get("expect", {}), as_http(request.method, res))
                if problems:
                    failures.append(f"{case}/{r.get('name', '?')}:\n    " + "\n    ".join(problems))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", cases())
def test_case(case: str, tmp_path: Path) -> None:
    run_case(case, tmp_path, DictKv)


@pytest.mark.parametrize("case", [c for c in cases() if c.startswith("kv_")])
def test_kv_case_with_async_store(case: str, tmp_path: Path) -> None:
    run_case(case, tmp_path, AsyncDictKv)


def test_corpus_has_the_kv_cases() -> None:
    if os.environ.get("WK_CONFORMANCE"):
        pytest.skip("a filtered run")
    assert len([c for c in cases() if c.startswith("kv_")]) == 11
