"""Docker HEALTHCHECK: a WMS GetCapabilities request must return capabilities."""
import os
import sys
import urllib.request

port = os.environ.get("MAPPROXY_PORT", "8080")
url = f"http://127.0.0.1:{port}/service?SERVICE=WMS&REQUEST=GetCapabilities"
try:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
if b"WMS_Capabilities" not in body and b"WMT_MS_Capabilities" not in body:
    print("unhealthy: no WMS capabilities in the answer", file=sys.stderr)
    sys.exit(1)
