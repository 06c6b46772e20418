"""`federation --help` builds the parser only: no service module and not the ORM are imported
(it took ~2 s; ~0.7 s now)."""

import json
import subprocess
import sys

SERVICES = ("federation.inbox", "federation.delivery", "federation.moderation",
            "federation.publishing", "federation.ingest", "federation.syndication",
            "federation.jobs", "federation.web", "federation.remote", "federation.identity")

PROBE = """
import json, sys
from federation.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          check=True, timeout=60)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _services(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(SERVICES) and
                  any(m == s or m.startswith(s + ".") for s in SERVICES))


def test_help_imports_no_service_module():
    """--help, and the help of each command, imports none of the service packages nor tortoise."""
    for argv in (["--help"], ["moderation", "--help"], ["import", "--help"],
                 ["worker", "--help"], ["followers", "--help"], ["follow", "--help"]):
        modules = _modules_after(*argv)
        assert _services(modules) == [], argv
        assert "tortoise" not in modules, argv


def test_help_probe_sees_service_imports():
    """The probe can fail: a module that imports a service shows it in sys.modules."""
    modules = _modules_after("--help")
    assert "federation.cli" in modules
    done = subprocess.run([sys.executable, "-c", "import federation.moderation.accounts; "
                           + PROBE, "--help"], capture_output=True, text=True, check=True,
                          timeout=60)
    assert "federation.moderation" in _services(set(json.loads(done.stdout.splitlines()[-1])))
