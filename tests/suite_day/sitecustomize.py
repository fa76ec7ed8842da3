"""Moves this Python process's clock by ``PPNB_CLOCK_OFFSET`` seconds (``make test-at``).

``tests/conftest.py`` puts this folder on ``PYTHONPATH`` when the suite runs "as of" another
day, so every Python process a test starts (a seeder, a CLI command, a kernel, a server) sees
the same moved clock as the test process: time-machine shifts the wall clock only, never the
monotonic clock, sleeps or lock timeouts. A process already under libfaketime is left alone.
"""

import os

_offset = os.environ.get("PPNB_CLOCK_OFFSET")
if _offset and "FAKETIME" not in os.environ:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
