"""`trial user ...`: add, change role, reset password, deactivate (never delete), tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from store.security import SecurityStore
from system.users import UserDirectory, write_users


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    users = tmp_path / "users.toml"
    write_users(users, {})
    return {
        "JY231_USERS_FILE": str(users),
        "JY231_DATA_DIR": str(tmp_path),
        "JY231_SECURITY_DB_URL": f"sqlite:///{tmp_path / 'security.db'}",
    }


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.output


def test_user_lifecycle_from_the_cli(env: dict[str, str]) -> None:
    users_file = Path(env["JY231_USERS_FILE"])
    code, out = _run(env, "user", "add", "nadia", "--role", "coordinator", "--name", "Nadia N",
                     "--password-stdin", stdin="short\n")  # fmt: skip
    assert code == 2 and "at least 12 characters" in out
    code, out = _run(env, "user", "add", "nadia", "--role", "coordinator",
                     "--password-stdin", stdin="nadia-is-my-password\n")  # fmt: skip
    assert code == 2 and "user name" in out
    code, _ = _run(env, "user", "add", "nadia", "--role", "coordinator", "--name", "Nadia N",
                   "--password-stdin", stdin="violet meadow 42 sunrise\n")  # fmt: skip
    assert code == 0
    assert UserDirectory.load(users_file).check_password("nadia", "violet meadow 42 sunrise")
    code, out = _run(env, "user", "add", "nadia", "--role", "pi",
                     "--password-stdin", stdin="violet meadow 42 sunrise\n")  # fmt: skip
    assert code == 2 and "exists" in out
    assert _run(env, "user", "add", "sys", "--role", "system", "--password-stdin",
                stdin="violet meadow 42 sunrise\n")[0] == 2  # fmt: skip

    code, token = _run(env, "user", "token", "nadia", "--label", "lab import")
    assert code == 0 and token.startswith("jy231_")
    security = SecurityStore(env["JY231_SECURITY_DB_URL"])
    assert security.token(token.strip()) is not None

    assert _run(env, "user", "role", "nadia", "investigator")[0] == 0
    assert UserDirectory.load(users_file).get("nadia").role.value == "investigator"  # type: ignore[union-attr]
    # A role change ends the tokens made for the old role.
    assert security.token(token.strip()) is None

    code, _ = _run(env, "user", "password", "nadia", "--password-stdin",
                   stdin="another long passphrase\n")  # fmt: skip
    assert code == 0
    directory = UserDirectory.load(users_file)
    assert directory.check_password("nadia", "another long passphrase")
    assert not directory.check_password("nadia", "violet meadow 42 sunrise")

    assert _run(env, "user", "deactivate", "nadia")[0] == 0
    directory = UserDirectory.load(users_file)
    assert directory.get("nadia") is None
    assert directory.get_any("nadia") is not None  # kept: past events name her
    assert not directory.check_password("nadia", "another long passphrase")
    code, out = _run(env, "user", "list")
    assert out.split()[:3] == ["nadia", "investigator", "deactivated"]
