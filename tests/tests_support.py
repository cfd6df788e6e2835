"""Helpers shared by the CLI tests."""

from monitor.cli.app import main


def stance(capsys, *args):
    """Run the `stance` command in-process; returns (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err
