"""uvicorn in one process under cProfile, every thread profiled: ``bench/rooms.py --profile``.

cProfile only sees the thread that enables it, and a room's work is spread over the event loop
and the database threads (asgiref's one, ``deliberation.light.THREADS``), so each thread gets
a profiler of its own as it starts, timed by the thread's own CPU clock (``time.thread_time``):
what each thread spends, not what it waits for (the GIL, PostgreSQL, a socket). On exit
(SIGINT, as the bench stops the server) the stats are written per thread to
``<out>.<thread name>.prof``, and the whole to ``<out>.all.prof``. A call still running at
exit (a thread waiting for work) is counted with the main thread's clock: ignore those.

    python bench/profiled_uvicorn.py OUT uvicorn-arguments...
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from typing import Any

profiles: list[tuple[str, cProfile.Profile]] = []
lock = threading.Lock()


def start_thread_profile(*_args: Any) -> None:
    profile = cProfile.Profile(time.thread_time)
    with lock:
        profiles.append((threading.current_thread().name, profile))
    profile.enable()  # replaces this hook for the rest of the thread's life


def main() -> None:
    out = sys.argv.pop(1)
    threading.setprofile(start_thread_profile)
    main_profile = cProfile.Profile(time.thread_time)
    profiles.append(("main", main_profile))
    import uvicorn

    main_profile.enable()
    try:
        uvicorn.main()
    finally:
        main_profile.disable()
        threading.setprofile(None)
        with lock:
            taken = list(profiles)
        merged: pstats.Stats | None = None
        for name, profile in taken:
            profile.create_stats()
            if not getattr(profile, "stats", None):
                continue
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
            profile.dump_stats(f"{out}.{safe}.prof")
            stats = pstats.Stats(profile)
            if merged is None:
                merged = stats
            else:
                merged.add(stats)
        if merged is not None:
            merged.dump_stats(f"{out}.all.prof")


if __name__ == "__main__":
    main()
