"""The README's examples run as written."""
import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_example_and_kv_store(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    example, kv_store = blocks()[:2]
    scope: dict = {}
    exec(example, scope)
    assert "200 {'hello': 'python', 'hits': 1}" in capsys.readouterr().out
    exec(example, scope)  # the embedded KV kept the count in kv.sqlite
    assert "'hits': 2" in capsys.readouterr().out
    exec(kv_store, scope)
    code = "export default { async fetch(r, env) { await env.MY_KV.put('a', 'b'); return new Response(await env.MY_KV.get('a')) } }"
    with scope["worker"].Engine(source_loader=lambda s, d: code) as e:
        assert e.execute("s", "d", scope["env"], "http://x/").text() == "b"
    lines = [l for l in kv_store.split("class MemoryKv")[1].splitlines() if l.strip()]
    assert len(lines) < 20


def test_readme_project_example(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkdir("my-app")
    Path("my-app/worker.js").write_text(
        "export default { async fetch(r, env) { await env.KV.put('k', 'v'); return new Response('app ' + await env.KV.get('k')) } }")
    Path("my-app/wrangler.jsonc").write_text(
        '{ "name": "app", "main": "worker.js", // comment\n "kv_namespaces": [{"binding": "KV", "id": "a"}] }')
    scope: dict = {"worker": __import__("worker")}
    exec(blocks()[1], scope)  # MemoryKv
    exec(blocks()[2], scope)
    assert capsys.readouterr().out.strip().endswith("app v")
    assert list(scope["kv"]["KV"].data) == ["k"]


def test_readme_queue_examples(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    execute_queue, broker = blocks()[3:5]
    scope: dict = {}
    exec(execute_queue, scope)
    assert capsys.readouterr().out == "[(True, None), (False, 60)]\n"
    exec(broker, scope)
    assert capsys.readouterr().out == "orders mail for order 42\n"
    assert scope["broker"].closed


def test_project_readme_python_example(tmp_path, capsys, monkeypatch) -> None:
    """The KV store in the repository's top-level README."""
    monkeypatch.chdir(tmp_path)
    top = Path(__file__).resolve().parents[3] / "README.md"
    (example,) = re.findall(r"```python\n(.*?)```", top.read_text(), re.S)
    exec(example, {})
    assert capsys.readouterr().out.strip() == "200 1"
