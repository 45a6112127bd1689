"""A fake clock for tests: time stands still until the test moves it (``satchel.clock.use`` installs it)."""

import threading
import time


class FakeClock:
    """Wall and monotonic time that start at the real values and move only by ``advance``."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wall = time.time()
        self._monotonic = time.monotonic()

    def time(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward, as if ``seconds`` had passed."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._wall += seconds
            self._monotonic += seconds
