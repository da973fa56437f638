"""Every queue a task is routed to has a worker in the Procfiles, or its tasks would wait for ever."""

import shlex

import pytest

from tests.celery_fixtures import ROOT, all_queues


def consumed_queues(procfile: str) -> set[str]:
    """The queues the Procfile's Celery workers take (`--queues`/`-Q`; none given: the default one)."""
    queues = set()
    for line in (ROOT / procfile).read_text().splitlines():
        words = shlex.split(line.partition(":")[2])
        if words[:1] != ["celery"] or "worker" not in words:
            continue
        for flag in ("--queues", "-Q"):
            if flag in words:
                queues.update(words[words.index(flag) + 1].split(","))
                break
        else:
            queues.add("celery")
    return queues


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_each_routed_queue_has_a_worker(procfile):
    assert set(all_queues()) <= consumed_queues(procfile)
