"""`trial user ...`: user administration and API tokens, run on the server's machine.

These edit the user file and the security database directly (they are how the first PI gets
in), so they need file access, not a login. Passwords are read from a prompt or from stdin,
never from the command line, where `ps` and shell history would show them.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.console import Console

from cli.api_client import EXIT_DOMAIN, EXIT_INPUT, fail
from domain.actors import Role
from store.security import SecurityStore
from system.config import load_settings
from system.users import PasswordRejected, UserDirectory, check_password_policy

__all__ = ["app"]

app = typer.Typer(
    help="Users (add, role, password, deactivate) and API tokens.", no_args_is_help=True
)
_out = Console(highlight=False, soft_wrap=True)

_ROLES = [r.value for r in Role if r is not Role.SYSTEM]
StdinOption = typer.Option(False, "--password-stdin", help="Read the password from stdin.")


def _users() -> UserDirectory:
    settings = load_settings()
    if not settings.users_file.exists():
        raise fail(f"no user file at {settings.users_file} (JY231_USERS_FILE)", EXIT_INPUT)
    return UserDirectory.load(settings.users_file)


def _security() -> SecurityStore:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SecurityStore(settings.security_db_url)


def _role(value: str) -> Role:
    if value not in _ROLES:
        raise fail(f"role: one of {', '.join(_ROLES)}", EXIT_INPUT)
    return Role(value)


def _password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(username, password)
    except PasswordRejected as exc:
        raise fail(f"password: {exc}", EXIT_INPUT) from None
    return password


@app.command("add")
def add(
    username: str,
    role: str = typer.Option(..., help=f"One of {', '.join(_ROLES)}."),
    name: str = typer.Option("", help="Full name shown on the dashboard."),
    password_stdin: bool = StdinOption,
) -> None:
    """Add a user (user names are never reused: past events name them)."""
    users = _users()
    try:
        users.add(username, _role(role), name, _password(username, password_stdin))
    except ValueError as exc:
        raise fail(f"username: {exc}", EXIT_INPUT) from None
    _out.print(f"added {username} ({role})")


@app.command("role")
def change_role(username: str, role: str) -> None:
    """Change a user's role; their sessions and tokens end."""
    try:
        _users().set_role(username, _role(role))
    except KeyError as exc:
        raise fail(str(exc.args[0]), EXIT_DOMAIN) from None
    _security().revoke_user(username)
    _out.print(f"{username} is now {role}; their sessions and tokens are revoked")


@app.command("password")
def reset_password(username: str, password_stdin: bool = StdinOption) -> None:
    """Set a new password; the user's sessions and tokens end."""
    users = _users()
    if users.get_any(username) is None:
        raise fail(f"no user {username!r}", EXIT_DOMAIN)
    users.reset_password(username, _password(username, password_stdin))
    security = _security()
    security.revoke_user(username)
    security.clear_failures(f"account:{username}")
    _out.print(f"password of {username} reset; their sessions and tokens are revoked")


@app.command("deactivate")
def deactivate(username: str) -> None:
    """Stop a user logging in (kept in the file: past events name them)."""
    try:
        _users().deactivate(username)
    except KeyError as exc:
        raise fail(str(exc.args[0]), EXIT_DOMAIN) from None
    _security().revoke_user(username)
    _out.print(f"{username} deactivated; their sessions and tokens are revoked")


@app.command("list")
def list_users() -> None:
    """Users, roles and whether they may log in."""
    for user in _users().all():
        state = "active" if user.active else "deactivated"
        _out.print(f"{user.username}\t{user.role.value}\t{state}\t{user.name}")


@app.command("token")
def token(
    username: str,
    role: str = typer.Option("", help="Scope: the user's own role (default) or monitor."),
    label: str = typer.Option("api", help="What the token is for."),
) -> None:
    """Create an API bearer token; it is shown once and stored only as a hash."""
    user = _users().get(username)
    if user is None:
        raise fail(f"no active user {username!r}", EXIT_DOMAIN)
    scope = _role(role) if role else user.role
    if scope not in {user.role, Role.MONITOR}:
        raise fail(f"role: a token of {username} may have role {user.role.value} or monitor",
                   EXIT_INPUT)  # fmt: skip
    _out.print(_security().create_token(username, scope.value, label))


@app.command("tokens")
def tokens(username: str = typer.Argument("", help="Only this user's tokens.")) -> None:
    """Tokens by id (never the secret), with their state."""
    for t in _security().tokens(username or None):
        made = datetime.fromtimestamp(t.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if t.revoked_at else "live"
        _out.print(f"{t.token_id}\t{t.username}\t{t.role}\t{state}\t{made}\t{t.label}")


@app.command("revoke")
def revoke(token_id: str) -> None:
    """Revoke a token by its id (the part after `jy231_`)."""
    if not _security().revoke_token(token_id):
        raise fail(f"no live token {token_id!r}", EXIT_DOMAIN)
    _out.print(f"token {token_id} revoked")
