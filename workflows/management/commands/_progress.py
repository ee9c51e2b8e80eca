"""A text progress bar for management commands (no dependency, plain when not a terminal)."""

from typing import TextIO

WIDTH = 30


class ProgressBar:
    """`[#####.....]  5/10 name`, redrawn in place on a terminal, one line each otherwise."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.done = 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def advance(self, label: str = "") -> None:
        """Count one item done and redraw."""
        self.done += 1
        filled = int(WIDTH * self.done / self.total)
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
