"""Run one job in several processes, one share each, with their progress forwarded to the caller.

Why processes: scoring is CPU-bound Python and numpy (the n-gram features above all), so threads would share
one core. A re-score of a million stored posts after retraining uses every core this way; the id ranges are
disjoint and each process writes only its own posts, so nothing is scored twice.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from queue import Empty
from typing import Any

from monitor.errors import MonitorError


class WorkerFailed(MonitorError):
    "A worker process raised or died; the others were stopped"


def split_range(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    """``[first, last]`` cut into at most ``parts`` contiguous, non-empty ranges of nearly equal length."""
    if last < first or parts < 1:
        return []
    size = last - first + 1
    parts = min(parts, size)
    bounds = [first + size * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


def run_in_processes(
    target: Callable[..., Any], shares: Sequence[tuple], on_progress: Callable[[int], None] | None = None
) -> list[Any]:
    """``target(*share, progress)`` in one spawned process per share; returns their results in share order.

    ``target`` must be a module-level function (it is pickled); ``progress(n)`` in a worker calls
    ``on_progress(n)`` here. The first failure stops the other workers and raises WorkerFailed with its
    message. Spawned, not forked: a fork would copy this process's open database connections.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_run, args=(target, index, share, queue), daemon=True)
               for index, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    results: dict[int, Any] = {}
    try:
        while len(results) < len(workers):
            try:
                kind, index, value = queue.get(timeout=1.0)
            except Empty:
                for index, worker in enumerate(workers):
                    if index not in results and worker.exitcode not in (None, 0):
                                raise WorkerFailed(
                            f"worker {index + 1} of {len(workers)} died (exit code {worker.exitcode})"
                        ) from None
                continue
            if kind == "progress":
                if on_progress:
                    on_progress(value)
            elif kind == "done":
                results[index] = value
            else:
                raise WorkerFailed(f"worker {index + 1} of {len(workers)}: {value}")
    finally:
        for worker in workers:
            if worker.is_alive() and len(results) < len(workers):
                worker.terminate()
            worker.join()
        queue.close()
    return [results[index] for index in range(len(workers))]


def _run(target: Callable[..., Any], index: int, share: tuple, queue) -> None:
    try:
        result = target(*share, lambda n: queue.put(("progress", index, n)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as one line
        queue.put(("error", index, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        return
    queue.put(("done", index, result))
