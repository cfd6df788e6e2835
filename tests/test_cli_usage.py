"""The installed `stance` script as a user meets it: usage errors, help texts, start-up, progress, exit codes.

Every test runs the real console script (the one `pip install` put next to this Python) in a subprocess.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

STANCE = Path(sys.executable).parent / "stance"
COMMANDS = ("init", "collect", "classify", "report", "run", "stream", "import", "predict", "export", "purge",
            "status", "train", "schedule", "job", "label", "models list", "models activate", "models rollback")


def run(cwd: Path, *args: str, **extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "STANCE_AUTHOR_SALT": "test-salt", "COLUMNS": "100"}
    env.pop("STANCE_DATABASE_URL", None)
    return subprocess.run([str(STANCE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          **extra)


def assert_one_line_usage_error(result: subprocess.CompletedProcess, command: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: stance {command}".rstrip() + ":"), lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_console_script_is_installed():
    assert STANCE.exists(), f"{STANCE} missing: pip install -e . in this environment"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_rejects_an_unknown_option_in_one_line_with_exit_code_2(tmp_path, command):
    result = run(tmp_path, *command.split(), "--no-such-option")
    assert_one_line_usage_error(result, command)
    assert "No such option" in result.stderr and "--help" in result.stderr


@pytest.mark.parametrize("args, command, message", [
    (["predict", "in.csv"], "predict", "Missing option '--out'"),
    (["import"], "import", "Missing argument 'FILE...'"),
    (["report", "--frq", "week"], "report", "--frq"),  # click 8.2 and 8.4 word it differently
    (["collect", "--max", "abc"], "collect", "'--max'"),
    (["bogus"], "", "No such command 'bogus'"),
    (["models", "bogus"], "models", "No such command 'bogus'"),
    (["report", "--freq", "year"], "report", "expected auto, day, week or month"),
    (["report", "--from", "2025-13-01"], "report", "expected a date like 2025-08-05"),
    (["report", "--from", "2025-09-01", "--to", "2025-08-01"], "report", "is after --to"),
    (["export", "out.csv", "--stance", "maybe"], "export", "expected pro_open, pro_closed and/or neutral"),
    (["label", "--limit", "0"], "label", "'--limit'"),
    (["import", "--preset", "nope", "x.csv"], "import", "unknown preset 'nope'"),
    (["import", "--map", "body", "x.csv"], "import", "expected FIELD=COLUMN pairs"),
    (["import", "--map", "colour=body", "x.csv"], "import", "unknown field 'colour'"),
    (["--log-format", "xml", "status"], "", "expected text or json"),
    (["train", "data.csv"], "train", "needs --label-col and --out"),
])
def test_usage_errors_named_in_the_issue_are_one_line_with_exit_code_2(tmp_path, args, command, message):
    result = run(tmp_path, *args)
    assert_one_line_usage_error(result, command)
    assert message in result.stderr


def test_problems_the_user_can_fix_are_one_line_with_exit_code_1(tmp_path):
    result = run(tmp_path, "import", "missing.jsonl")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and len(errors) == 1 and "missing.jsonl: cannot read" in errors[0]
    assert "Traceback" not in result.stderr


def test_status_outside_a_project_folder_says_so_and_creates_no_database(tmp_path):
    result = run(tmp_path, "status")
    assert result.returncode == 1
    assert "no database at stance.db" in result.stderr and "stance init" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
    assert run(tmp_path, "export", "posts.csv").returncode == 1 and not list(tmp_path.iterdir())


def test_first_schedule_once_says_what_it_did(tmp_path):
    assert run(tmp_path, "init").returncode == 0
    result = run(tmp_path, "schedule", "--once")
    assert result.returncode == 0, result.stderr
    assert "nothing was due (6 jobs configured)" in result.stdout
    assert "next: collect-file at " in result.stdout and "then, after the jobs they follow: classify" in result.stdout


def test_help_is_plain_text_that_keeps_brackets_and_shows_no_type_markers(tmp_path):
    help_texts = {name: run(tmp_path, *name.split(), "--help") for name in ("", "schedule", "job", "import", "init")}
    assert all(r.returncode == 0 for r in help_texts.values())
    assert "[schedule.jobs]" in help_texts["schedule"].stdout and "[schedule.jobs]" in help_texts["job"].stdout
    assert "Usage: stance import [OPTIONS] FILE..." in help_texts["import"].stdout
    for result in help_texts.values():
        assert "<bool>" not in result.stdout and "{" not in result.stdout and "╭" not in result.stdout
    assert "--preset NAME" in help_texts["import"].stdout and "4cat, minet" in help_texts["import"].stdout
    assert run(tmp_path).stdout.startswith("Usage: stance [OPTIONS] COMMAND")  # no arguments: the help, exit 0


def test_help_and_small_commands_import_no_heavy_library(tmp_path):
    probe = ("import sys\nfrom monitor.cli import main\n"
             "for args in (['--help'], ['report', '--help'], ['status', '--help']):\n"
             "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
             "heavy = {'numpy', 'sqlalchemy', 'matplotlib', 'sklearn', 'scipy', 'skops', 'pyarrow', 'alembic'}\n"
             "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def _on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run the script with stdin and stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    env = {**os.environ, "STANCE_AUTHOR_SALT": "test-salt", "COLUMNS": "100", "TERM": "xterm"}
    env.pop("STANCE_DATABASE_URL", None)
    process = subprocess.Popen([str(STANCE), *args], cwd=cwd, env=env, stdin=slave, stdout=subprocess.DEVNULL,
                               stderr=slave)
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=60), received.decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_never_in_pipes_or_with_quiet(tmp_path):
    rows = "".join(f'{{"id": "{i}", "text": "open weights {i}", "created_at": "2025-08-05"}}\n' for i in range(50))
    (tmp_path / "posts.jsonl").write_text(rows)
    code, terminal = _on_a_terminal(tmp_path, "import", "posts.jsonl")
    assert code == 0 and "importing" in terminal
    code, terminal = _on_a_terminal(tmp_path, "--quiet", "import", "posts.jsonl")
    assert code == 0 and "importing" not in terminal
    piped = run(tmp_path, "import", "posts.jsonl")
    assert piped.returncode == 0 and "importing" not in piped.stderr and "\x1b[" not in piped.stderr


def test_a_report_that_matches_no_posts_says_so_exits_1_and_writes_nothing(tmp_path):
    assert run(tmp_path, "init").returncode == 0
    result = run(tmp_path, "report", "--lang", "fr")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no classified posts match this report (language fr); nothing was written")
    assert not (tmp_path / "stance-reports").exists()


def test_reports_default_to_a_folder_that_is_no_python_package(tmp_path, monkeypatch):
    from monitor.config import default_config_text, load_settings

    monkeypatch.chdir(tmp_path)
    assert str(load_settings().report.out_dir) == "stance-reports"
    assert 'out_dir = "stance-reports"' in default_config_text()
    package = tmp_path / "reports"
    package.mkdir()
    (package / "__init__.py").write_text("")
    result = run(tmp_path, "report", "--out", "reports")
    assert result.returncode == 1 and "Python package folder" in result.stderr
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py"]
