"""Importing the package does no work: no argon2 hash computed, no cache built, no signal
registered (they belong to objects built at start-up)."""

import json
import subprocess
import sys

PROBE = """
import json
import federation.app, federation.inbox.service, federation.moderation.accounts as accounts
from tortoise.signals import Signals
from federation.db.social import Following
print(json.dumps({
    "dummy_hashes": accounts._dummy_hash.cache_info().currsize,
    "listeners": sum(len(Following._listeners[s].get(Following, []))
                     for s in (Signals.post_save, Signals.post_delete)),
}))
"""


def test_importing_the_services_computes_and_registers_nothing():
    """No dummy password hash and no Following listener exist after importing everything."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[-1]) == {"dummy_hashes": 0, "listeners": 0}
