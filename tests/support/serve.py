"""Run one real service in this process on the address in COVENANT_LISTEN and print its port.

python -m tests.support.serve scoring      (environment configures it, as for `covenant serve`)
"""

from __future__ import annotations

import sys

from covenant.grpc.server import ServiceHost
from covenant.settings import Settings

if __name__ == "__main__":
    host = ServiceHost(Settings.from_env(sys.argv[1]))
    host.start()
    print(host.port, flush=True)
    sys.stdout.close()
    host.serve_forever()
