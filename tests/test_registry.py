"""server.json is what the official MCP registry accepts, and says what the package is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from nemo_mcp import __version__
from nemo_mcp.config import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
SERVER = json.loads((ROOT / "server.json").read_text())


def test_server_json_validates_against_the_registry_schema() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "server.schema.json").read_text())
    assert SERVER["$schema"] == schema["$id"]
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(SERVER)


def test_server_json_describes_this_package() -> None:
    assert re.fullmatch(r"io\.github\.[\w-]+/nemo-mcp", SERVER["name"])
    assert len(SERVER["description"]) <= 100
    assert SERVER["version"] == __version__
    (package,) = SERVER["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "nemo-mcp"
    assert package["version"] == __version__ and package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    env = {v["name"]: v for v in package["environmentVariables"]}
    assert list(env) == [v.name for v in VARIABLES]
    assert env["NEMO_TOKEN"]["isSecret"] is True
    assert not any(v.get("isRequired") for v in env.values())
    assert sum(1 for v in env.values() if v.get("isSecret")) == 1


def test_readme_carries_the_registry_ownership_line() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"mcp-name: {SERVER['name']}" in readme


def test_a_broken_server_json_is_caught() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "server.schema.json").read_text())
    broken = {**SERVER, "packages": [{**SERVER["packages"][0], "version": "latest"}]}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
