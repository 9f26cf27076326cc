"""Sites: users belong to sites with a role per site; they see and act on those subjects only.

A user without a site list is a member of every site with their one role, which is how the
single-site trial (and every ``users.toml`` written before sites) works.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from domain.actors import Role

__all__ = ["SiteMembership"]


class SiteMembership(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_role: Role
    # site id -> role there; None: every site, with ``default_role``.
    roles: Mapping[str, Role] | None = None

    def can_see(self, site_id: str | None) -> bool:
        # A subject recorded without a site predates sites: everyone who sees everything.
        if self.roles is None:
            return True
        return site_id is not None and site_id in self.roles

    def role_at(self, site_id: str | None) -> Role:
        if self.roles is None or site_id is None:
            return self.default_role
        return self.roles.get(site_id, self.default_role)

    @property
    def sites(self) -> tuple[str, ...] | None:
        return tuple(sorted(self.roles)) if self.roles is not None else None
