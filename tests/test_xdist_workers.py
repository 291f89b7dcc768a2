"""The test suite's worker count (tests/conftest.py): one per usable CPU, a container's CPU quota included
(:func:`mixlaw._workers.usable_cpus`, which ``--workers auto`` counts too)."""

from __future__ import annotations

import os

import conftest

from mixlaw import _workers


def test_a_cgroup_quota_bounds_the_cpus(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")  # 1.5 CPUs of quota: 2 workers, not the host's core count
    assert _workers.usable_cpus(str(quota)) == min(affinity, 2)
    quota.write_text("max 100000\n")  # no quota: the affinity mask
    assert _workers.usable_cpus(str(quota)) == affinity
    none = (str(tmp_path / "absent_quota"), str(tmp_path / "absent_period"))
    assert _workers.usable_cpus(str(tmp_path / "absent"), none) == affinity
    # cgroup v1 (no cpu.max): cpu.cfs_quota_us / cpu.cfs_period_us; -1 is no quota
    v1 = (tmp_path / "cpu.cfs_quota_us", tmp_path / "cpu.cfs_period_us")
    v1[0].write_text("200000\n")
    v1[1].write_text("100000\n")
    assert _workers.usable_cpus(str(tmp_path / "absent"), tuple(map(str, v1))) == min(affinity, 2)
    v1[0].write_text("-1\n")
    assert _workers.usable_cpus(str(tmp_path / "absent"), tuple(map(str, v1))) == affinity
    assert conftest.usable_cpus() == _workers.usable_cpus()  # conftest counts as the library does


def test_workers_are_capped(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(conftest, "usable_cpus", lambda: 64)
    assert conftest.pytest_xdist_auto_num_workers(None) == conftest.MAX_WORKERS
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert conftest.pytest_xdist_auto_num_workers(None) is None  # xdist reads the variable itself
