"""Warm "hello" execute from Python: the overhead of the Python package over the Rust API.

    python benches/lang/hello.py [N]

One engine with the default thread pool, 2000 warm-up calls, then N sequential calls (default
20000). Prints one line: ``hello_execute python <microseconds per call>``. Needs the ``worker``
package installed (``pip install ./bindings/python``; a release build for real figures).
"""
import sys
import time

import worker

HELLO = 'export default { fetch() { return new Response("hello") } }'


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with worker.Engine(source_loader=lambda site, deploy: HELLO) as engine:
        env = worker.Env()
        request = worker.Request("GET", "http://localhost/")
        for _ in range(2000):
            engine.execute("bench", "v1", env, request)
        started = time.perf_counter()
        for _ in range(n):
            res = engine.execute("bench", "v1", env, request)
        elapsed = time.perf_counter() - started
        assert res.body == b"hello", res
    print(f"hello_execute python {elapsed / n * 1e6:.2f}")


if __name__ == "__main__":
    main()
