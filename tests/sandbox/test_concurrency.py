"""Many clients at once: 16 threads reading pages in parallel all get complete, correct pages."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_smartarena.sandbox.testing import SandboxServer

from .conftest import Api


def test_sixteen_parallel_readers(sandbox: SandboxServer) -> None:
    truth = [a["id"] for a in sandbox.state("usercourses", modules_data=False)]
    clients = [Api(sandbox) for _ in range(16)]

    def read(index: int) -> tuple[list[int], list[int]]:
        api, statuses, ids = clients[index], [], []
        for _ in range(3):
            for page in range(1, 6):
                response = api.get("/api/usercourses", page=page, per_page=100)
                statuses.append(response.status_code)
                if page == 1 + index % 5:
                    ids = [r["id"] for r in response.json()["data"]]
        return statuses, ids

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(read, range(16)))
    for index, (statuses, ids) in enumerate(results):
        assert set(statuses) == {200}
        page = index % 5
        assert ids == truth[page * 100 : (page + 1) * 100]


def test_a_page_is_fast(sandbox: SandboxServer) -> None:
    api = Api(sandbox)
    api.get("/api/usercourses", page=2)
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        assert api.get("/api/usercourses", page=3, modules_data=0).status_code == 200
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.05  # a few ms normally; generous for loaded CI machines
