"""Who is calling: users and roles from a TOML file, verified against argon2 hashes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.actors import Actor, Role

__all__ = ["User", "UserDirectory"]

_HASHER = PasswordHasher()
# Verifying against a real hash for unknown users keeps the response time from revealing
# which user names exist.
_DUMMY_HASH = _HASHER.hash("not-a-user")


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    name: str
    password_hash: str

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.username, role=self.role)


class UserDirectory:
    """The users allowed in, each with one role; no user may hold the system role."""

    def __init__(self, users: dict[str, User]) -> None:
        for user in users.values():
            if user.role is Role.SYSTEM:
                raise ValueError(f"user {user.username!r}: the system role is not for people")
        self._users = dict(users)

    @classmethod
    def load(cls, path: Path) -> UserDirectory:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
        users: dict[str, User] = {}
        for username, entry in raw.get("users", {}).items():
            users[username] = User(
                username=username,
                role=Role(entry["role"]),
                name=str(entry.get("name", username)),
                password_hash=str(entry["password_hash"]),
            )
        return cls(users)

    def get(self, username: str) -> User | None:
        return self._users.get(username)

    def verify(self, username: str, password: str) -> Actor | None:
        user = self._users.get(username)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user.actor if user else None

    def __len__(self) -> int:
        return len(self._users)
