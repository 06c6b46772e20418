"""Independent verifiers that pin their own libraries (bovine caps cryptography and pyld), run
in a separate virtualenv (``make verifiers``: ``.venv-verifiers``, from
``requirements/verifiers.txt``) so that the project's tests run on the production set."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
#: CI (``.ci/run``) sets it: a missing verifier environment is then a failure, not a skip.
REQUIRED_ENV = "FEDERATION_TEST_STRICT"


def verifier_python() -> Path:
    """The verifier environment's interpreter (skip, or fail under ``make test``, without it)."""
    python = Path(os.environ.get("FEDERATION_TEST_VERIFIERS_PYTHON",
                                 ROOT / ".venv-verifiers" / "bin" / "python"))
    if not python.exists():
        message = f"no verifier environment at {python}: run `make verifiers`"
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return python


def run_verifier(script: str, request: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """Run ``tests/verifiers/<script>`` in the verifier environment with ``request`` as JSON on
    stdin; its JSON answer (the script runs in ``cwd``: bovine writes a cache file there)."""
    completed = subprocess.run(
        [str(verifier_python()), str(Path(__file__).parent / script)],
        input=json.dumps(request), capture_output=True, text=True, cwd=cwd, timeout=120,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    answer: dict[str, Any] = json.loads(completed.stdout)
    return answer
