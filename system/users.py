"""The user list: who may log in, with which role; argon2id hashes in a TOML file.

The file is the one source of truth (``JY231_USERS_FILE``, by default ``config/users.toml``).
``trial user ...`` edits it (atomically: write a new file, then rename), and a running web app
picks up the change on its next request, so a deactivated user is out at once. Users are never
deleted: past events name them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.actors import Actor, Role
from domain.sites import SiteMembership

__all__ = [
    "PasswordRejected",
    "User",
    "UserDirectory",
    "check_password_policy",
    "hash_password",
    "write_users",
]

_HASHER = PasswordHasher()
# Verifying against a real hash for unknown users keeps the response time from revealing
# which user names exist.
_DUMMY_HASH = _HASHER.hash("not-a-user")

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
# The few that pass the length rule yet are first in every guessing list.
_COMMON = {
    "password1234",
    "123456789012",
    "qwertyuiopas",
    "passwordpassword",
    "letmeinletmein",
    "administrator",
    "changemechangeme",
}


class PasswordRejected(ValueError):
    """A new password that breaks the policy; the message says which rule."""


def check_password_policy(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected(f"a password has at most {MAX_PASSWORD} characters")
    lowered = password.lower()
    if username.lower() in lowered:
        raise PasswordRejected("a password may not contain the user name")
    if lowered in _COMMON or len(set(password)) < 5:
        raise PasswordRejected("this password is too easy to guess")


def hash_password(username: str, password: str) -> str:
    check_password_policy(username, password)
    return _HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    name: str
    password_hash: str
    active: bool = True
    # Site id -> role there; None: every site with ``role`` (files written before sites).
    site_roles: dict[str, Role] | None = None

    @property
    def membership(self) -> SiteMembership:
        return SiteMembership(default_role=self.role, roles=self.site_roles)

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.username, role=self.role)


def _site_roles(username: str, raw: object, role: Role) -> dict[str, Role] | None:
    """``sites = ["A", "B"]`` (the user's role at each) or ``sites = {A = "pi", B = "monitor"}``."""
    if raw is None:
        return None
    if isinstance(raw, list):
        return {str(site): role for site in raw}
    if isinstance(raw, dict):
        return {str(site): Role(str(site_role)) for site, site_role in raw.items()}
    raise ValueError(f"user {username!r}: sites must be a list of site ids or a site -> role table")


def _read(path: Path) -> dict[str, User]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    users: dict[str, User] = {}
    for username, entry in raw.get("users", {}).items():
        role = Role(entry["role"])
        users[username] = User(
            username=username,
            role=role,
            name=str(entry.get("name", username)),
            password_hash=str(entry["password_hash"]),
            active=bool(entry.get("active", True)),
            site_roles=_site_roles(username, entry.get("sites"), role),
        )
    return users


def write_users(path: Path, users: dict[str, User]) -> None:
    """Rewrite the file atomically (readers see the old or the new file, never half)."""
    lines = [
        "# Users of the JY231 orchestrator, maintained with `trial user ...`.",
        "# Hashes: argon2id. Users are deactivated, never deleted: past events name them.",
    ]
    for user in users.values():
        # JSON strings are valid TOML basic strings (same escapes).
        lines += [
            "",
            f"[users.{json.dumps(user.username)}]",
            f"role = {json.dumps(user.role.value)}",
            f"name = {json.dumps(user.name)}",
            f"password_hash = {json.dumps(user.password_hash)}",
            f"active = {'true' if user.active else 'false'}",
        ]
        if user.site_roles is not None:
            roles = ", ".join(
                f"{json.dumps(site)} = {json.dumps(role.value)}"
                for site, role in sorted(user.site_roles.items())
            )
            lines.append(f"sites = {{ {roles} }}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


class UserDirectory:
    """The users allowed in, each with one role; no user may hold the system role."""

    def __init__(self, users: dict[str, User], path: Path | None = None) -> None:
        self._check(users)
        self._users = dict(users)
        self._path = path
        self._stamp = self._file_stamp()

    @staticmethod
    def _check(users: dict[str, User]) -> None:
        for user in users.values():
            if user.role is Role.SYSTEM or Role.SYSTEM in (user.site_roles or {}).values():
                raise ValueError(f"user {user.username!r}: the system role is not for people")

    @classmethod
    def load(cls, path: Path) -> UserDirectory:
        return cls(_read(path), path)

    @property
    def path(self) -> Path | None:
        return self._path

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _refresh(self) -> None:
        # A stat per lookup: cheap, and an edit by `trial user` takes effect on the next request.
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp or self._path is None:
            return
        users = _read(self._path)
        self._check(users)
        self._users, self._stamp = users, stamp

    def get(self, username: str) -> User | None:
        """The active user of that name; deactivated users are as good as unknown."""
        self._refresh()
        user = self._users.get(username)
        return user if user is not None and user.active else None

    def get_any(self, username: str) -> User | None:
        """Also a deactivated user (for administration)."""
        self._refresh()
        return self._users.get(username)

    def all(self) -> list[User]:
        self._refresh()
        return list(self._users.values())

    def verify(self, username: str, password: str) -> Actor | None:
        """The user's actor when the password is right (argon2: slow on purpose)."""
        user = self.get(username)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user.actor if user else None

    def check_password(self, username: str, password: str) -> bool:
        """Re-authentication (e.g. the password re-entered at an electronic signature).

        Argon2 every call and no lockout bookkeeping: callers facing the network should go
        through ``web.login_guard.LoginGuard`` so that guessing is throttled.
        """
        return self.verify(username, password) is not None

    # Administration (the CLI): each call rewrites the file -------------------------------

    def _save(self, users: dict[str, User]) -> None:
        if self._path is None:
            raise RuntimeError("this user directory has no file to write")
        self._check(users)
        write_users(self._path, users)
        self._users, self._stamp = users, self._file_stamp()

    def add(self, username: str, role: Role, name: str, password: str) -> User:
        if not _USERNAME.fullmatch(username):
            raise ValueError("a user name is 1-64 of a-z, 0-9, '.', '_', '-', starting alnum")
        if role is Role.SYSTEM:
            raise ValueError("the system role is not for people")
        self._refresh()
        if username in self._users:
            raise ValueError(f"user {username!r} exists (users are never re-created)")
        user = User(username, role, name or username, hash_password(username, password))
        self._save({**self._users, username: user})
        return user

    def _change(self, username: str, **changes: object) -> User:
        self._refresh()
        current = self._users.get(username)
        if current is None:
            raise KeyError(f"no user {username!r}")
        user = replace(current, **changes)  # type: ignore[arg-type]
        self._save({**self._users, username: user})
        return user

    def set_role(self, username: str, role: Role) -> User:
        return self._change(username, role=role)

    def reset_password(self, username: str, password: str) -> User:
        return self._change(username, password_hash=hash_password(username, password))

    def deactivate(self, username: str) -> User:
        return self._change(username, active=False)

    def __len__(self) -> int:
        self._refresh()
        return len(self._users)
