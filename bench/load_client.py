"""The fallback load generator when ``wrk`` is not installed: bounded in time, loopback only.

``python -m bench.load_client '{"base": ..., "path": ..., "token": ..., "seconds": ...,
"approve": [ids] | null, "distinct": bool, "post": "/api/drafts/{draft_id}/approve"}'`` prints
``{"rate": req/s, "bad": non-2xx count}``.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx

THREADS = 4


def main() -> None:
    spec = json.loads(sys.argv[1])
    if urlsplit(spec["base"]).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("the load generator only targets loopback")
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec["token"] else {}
    ids = itertools.cycle(spec["approve"]) if spec["approve"] else None
    fresh = itertools.count(1) if spec.get("distinct") else None  # a URL of its own each time
    lock = threading.Lock()
    deadline = time.monotonic() + float(spec["seconds"])
    counts = {"done": 0, "bad": 0}

    def worker() -> None:
        with httpx.Client(base_url=spec["base"], headers=headers, timeout=30) as client:
            while time.monotonic() < deadline:
                if ids is not None:
                    with lock:
                        draft_id = next(ids)
                    response = client.post(
                        spec["post"].format(draft_id=draft_id), json={"confirm_flags": True}
                    )
                elif fresh is not None:
                    with lock:
                        n = next(fresh)
                    response = client.get(f"{spec['path']}?uncached={n}")
                else:
                    response = client.get(spec["path"])
                with lock:
                    counts["done"] += 1
                    counts["bad"] += response.status_code >= 300

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    print(json.dumps({"rate": counts["done"] / elapsed, "bad": counts["bad"]}))


if __name__ == "__main__":
    main()
