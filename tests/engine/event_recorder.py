"""The Swarm's service, config and secret events, read live as the engine
sends them, for the tests that assert what a run sent (StackEnv.now,
service_events, mutations).

Why not `docker events --since --until`: dockerd answers those from the last
256 events it keeps in memory, and the tests running beside a test (six
workers, each starting and stopping containers) push an update out of them
within seconds: a test then saw no update where one was sent (CI, 8 workers:
test_sync and test_stacks). A live stream loses nothing.

Where a window ends: dockerd makes a Swarm object's event from its watch of
the Swarm store, after the API call that changed the object returned, in the
order the store committed the changes. So `mark()` creates a marker config
and waits until the stream brings its event: every change committed before
it has been recorded by then, and the marker's time is the window's bound.

One recorder per engine and test process (a pytest worker), started at the
first mark: a window opened by one test helper (the staging platform's env)
can be read by another (the production one's)."""
import threading
import time
import uuid

TYPES = ("service", "config", "secret")
MARKER = "kt-event-mark-"

_recorders = {}
_recorders_lock = threading.Lock()


def recorder(client):
    """The recorder of `client`'s engine in this process."""
    with _recorders_lock:
        found = _recorders.get(client.api.base_url)
        if found is None or not found.alive():
            found = _recorders[client.api.base_url] = EventRecorder(client)
        return found


class EventRecorder:
    def __init__(self, client):
        self.client = client
        self._events = []
        self._changed = threading.Condition()
        self._stream = client.api.events(decode=True, filters={"type": list(TYPES)})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for event in self._stream:
                with self._changed:
                    self._events.append(event)
                    self._changed.notify_all()
        except Exception:
            pass  # the engine went away (a dockerd restart): recorder() starts anew

    def alive(self):
        return self._thread.is_alive()

    def mark(self, timeout=30):
        """The engine time (ns) of a marker config's creation, once its event
        is recorded: every change committed before is recorded too."""
        name = f"{MARKER}{uuid.uuid4().hex[:12]}"
        config = self.client.api.create_config(name, b"mark")
        try:
            deadline = time.monotonic() + timeout
            with self._changed:
                while True:
                    for event in reversed(self._events):
                        if (event.get("Type") == "config" and event.get("Action") == "create"
                                and event["Actor"]["Attributes"].get("name") == name):
                            return event["timeNano"]
                    left = deadline - time.monotonic()
                    assert left > 0 and self.alive(), f"no event of marker {name} in {timeout}s"
                    self._changed.wait(left)
        finally:
            self.client.api.remove_config(config["ID"])

    def between(self, since, until):
        """The recorded events made after `since` and before `until` (marks)."""
        with self._changed:
            return [e for e in self._events if since < e["timeNano"] < until
                    and not e["Actor"]["Attributes"].get("name", "").startswith(MARKER)]
