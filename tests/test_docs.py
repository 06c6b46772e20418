"""The documentation stays true to the code: every setting is documented."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from federation.settings import Settings

DOCS = Path(__file__).parents[1] / "docs"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        elif (typing.get_origin(annotation) in (tuple, list) and args
              and isinstance(args[0], type) and issubclass(args[0], BaseModel)):
            keys += _keys(args[0], f"{prefix}{name}[].")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_configuration_doc_lists_every_key():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    keys = _keys(Settings)
    assert "site_actor.identifier" in keys and "collectives[].fields[].value" in keys
    missing = [key for key in keys if f"`{key}`" not in text]
    assert not missing, f"undocumented settings in docs/configuration.md: {missing}"


def test_example_configuration_is_valid():
    """config/federation.example.toml passes validation as shipped."""
    from federation.settings import load_settings

    settings = load_settings(Path(__file__).parents[1] / "config" / "federation.example.toml",
                             env={})
    assert settings.collectives
