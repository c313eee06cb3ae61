"""How a wait shows progress: on a terminal one line rewritten in place; in
a pipe (CI logs) a plain line per change, with no control characters."""
import shutil
import sys


class Progress:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = {}
        self.dirty = False

    def update(self, states):
        """`states`: {name: "1/2 running"}; shows what changed."""
        changed = {name: text for name, text in states.items() if self.shown.get(name) != text}
        if not changed:
            return
        self.shown.update(changed)
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            line = "  " + ", ".join(f"{n} {t}" for n, t in sorted(self.shown.items()))
            self.stream.write("\r\x1b[K" + line[:width])
            self.dirty = True
        else:
            for name, text in sorted(changed.items()):
                self.stream.write(f"  {name}  {text}\n")
        self.stream.flush()

    def note(self, line):
        """A line of its own between the updates (e.g. an action taken)."""
        self.done()
        self.stream.write(line + "\n")
        self.stream.flush()

    def done(self):
        """End the in-place line (before anything else is printed)."""
        if self.dirty:
            self.stream.write("\n")
            self.stream.flush()
            self.dirty = False
