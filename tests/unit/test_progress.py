"""Progress of a wait: in place on a terminal, plain lines in a pipe."""
import io

from kargo_tasks.engine.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_pipe_gets_a_plain_line_per_change_and_no_control_characters():
    out = io.StringIO()
    progress = Progress(out)
    progress.update({"web": "0/1 running", "db": "0/1 running"})
    progress.update({"web": "0/1 running", "db": "1/1 running"})
    progress.update({"web": "0/1 running", "db": "1/1 running"})  # nothing changed
    progress.done()
    text = out.getvalue()
    assert text.splitlines() == ["  db  0/1 running", "  web  0/1 running", "  db  1/1 running"]
    assert not any(ch in text for ch in "\r\x1b")


def test_terminal_rewrites_one_line_in_place_and_ends_it():
    out = Terminal()
    progress = Progress(out)
    progress.update({"web": "0/1 running"})
    progress.update({"web": "1/1 running"})
    progress.done()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 2 and text.endswith("web 1/1 running\n")
    assert text.count("\n") == 1
