"""The README's promises: the test command CI runs is the README's, and every command is documented."""

import re
from pathlib import Path

from monitor.cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks]


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_readme_main_command_installs_and_runs():
    assert any(c.endswith("pip install . && stance run") for c in readme_commands())


def test_every_command_is_documented_and_has_help():
    readme = (ROOT / "README.md").read_text()
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"`stance {name}" in readme, f"stance {name} is not in README.md"
        assert command.help, f"stance {name} has no help"
