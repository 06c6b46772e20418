"""The nginx example: docs/deploy.md shows config/nginx.example.conf verbatim, in a form the
nginx of Debian stable and Ubuntu LTS accepts (``nginx -t`` checks it where nginx is installed;
tests/deploy/test_nginx.py runs it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.nginx import ROOT, Nginx, VirtualHost, example, render_server
from tests.tlsca import LocalCA

DEPLOY = ROOT / "docs" / "deploy.md"


def directives() -> list[str]:
    return [line.split("#", 1)[0].strip() for line in example().splitlines()
            if line.split("#", 1)[0].strip()]


def test_deploy_doc_shows_the_example_file_verbatim() -> None:
    """The ```nginx block of docs/deploy.md's proxy section is config/nginx.example.conf."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY.read_text(encoding="utf-8"), re.DOTALL)
    assert example() in blocks, "docs/deploy.md and config/nginx.example.conf differ"


def test_example_uses_the_listen_form_older_nginx_accepts() -> None:
    """`http2 on;` (nginx >= 1.25.1) stops Debian 12's nginx 1.22: the listen parameter works
    everywhere; Host is passed as the client sent it (signatures cover it)."""
    lines = directives()
    assert "http2 on;" not in lines
    assert lines.count("listen 443 ssl http2;") == 1
    assert lines.count("listen [::]:443 ssl http2;") == 1
    assert "proxy_set_header Host $http_host;" in lines
    assert not any(line.startswith("proxy_set_header X-Forwarded-Proto") for line in lines), (
        "the bridge ignores X-Forwarded-Proto: the example should not suggest otherwise")


def test_rendering_refuses_an_example_of_another_shape() -> None:
    """The test rendering fails loudly when the example changes shape (no silent half-render)."""
    host = VirtualHost("site.test", 8443, 8080, Path("c.pem"), Path("k.pem"), 9000)
    assert "listen 127.0.0.1:8443 ssl http2;" in render_server(example(), host, ipv6=True)
    changed = example().replace("listen 443 ssl http2;", "listen 443 ssl;\n    http2 on;")
    with pytest.raises(AssertionError, match="listen 443 ssl http2"):
        render_server(changed, host, ipv6=True)


@pytest.mark.slow
def test_nginx_t_accepts_the_example(tmp_path: Path) -> None:
    """Debian's `nginx -t` accepts the example (rendered with a local certificate)."""
    ca = LocalCA(tmp_path / "ca")
    issued = ca.issue("site.test")
    nginx = Nginx([VirtualHost("site.test", 8443, 8080, issued.cert, issued.key, 9000)])
    try:
        nginx.write()
        output = nginx.test_config()
    finally:
        nginx.cleanup()
    assert "syntax is ok" in output and "test is successful" in output
