"""The documents that make claims about the code stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_the_reliability_report_exists() -> None:
    report = (ROOT / "docs" / "reliability.md").read_text()
    named = set(re.findall(r"`(test_\w+)`", report))
    defined = {
        m
        for f in (ROOT / "tests").glob("test_*.py")
        for m in re.findall(r"^(?:async )?def (test_\w+)", f.read_text(), re.M)
    }
    assert len(named) > 20
    assert named <= defined, sorted(named - defined)


def test_readme_documents_every_variable() -> None:
    from nemo_mcp.config import VARIABLES

    readme = (ROOT / "README.md").read_text()
    assert [v.name for v in VARIABLES if f"`{v.name}`" not in readme] == []


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = ".venv/bin/python -m pytest -q"
    assert command in readme and command in ci


def test_readme_tool_reference_matches_the_live_server() -> None:
    import anyio
    from tools.reference import END, START, generate

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(START) : readme.index(END) + len(END)]
    assert block == anyio.run(generate), "run `python -m tools.reference` to update the README"


def test_readme_offline_editor_reference_is_the_phrase_table() -> None:
    from nemo_mcp.local.editor.reference import END, START, markdown

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(START) : readme.index(END) + len(END)]
    assert block == markdown(), "run `python -m tools.reference` to update the README"


def test_draft_format_lists_every_key_and_alias_we_read() -> None:
    from nemo_mcp.draft import keys

    rows = [line.split("|") for line in (ROOT / "docs" / "draft-format.md").read_text().splitlines()]
    rows = [cells for cells in rows if len(cells) > 3]
    for key in vars(keys).values():
        if isinstance(key, keys.Key):
            # A pair such as `fi`, `fo` shares a row; the written key is in the first column.
            found = [cells for cells in rows if f"`{key.written}`" in cells[1]]
            assert found, key.written
            assert all(all(f"`{alias}`" in cells[2] for alias in key.aliases) for cells in found), key.written
