"""The site rule at the web surface: a user sees and acts on their sites' subjects only.

Every subject-scoped request (``{subject_id}`` in the path, API and dashboard alike) resolves
the subject's site first: a subject of another site is answered 404, exactly like a subject that
does not exist, and the actor carries the user's role at the subject's site. Lists (board,
visits, queries, report, alerts) keep only the rows of the user's sites.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request

from domain.actors import Actor
from domain.errors import NotFound, RoleNotAllowed
from domain.sites import SiteMembership
from web.context import AppContext

__all__ = ["membership", "require_site", "scoped_actor", "visible", "visible_subject_ids"]

Row = TypeVar("Row")


def membership(ctx: AppContext, actor: Actor) -> SiteMembership:
    user = ctx.users.get(actor.user_id)
    if user is None:
        return SiteMembership(default_role=actor.role)
    return user.membership


async def scoped_actor(request: Request, ctx: AppContext, actor: Actor) -> Actor:
    """The actor for this request: 404 for another site's subject, the site's role otherwise."""
    subject_id = request.path_params.get("subject_id")
    if not isinstance(subject_id, str):
        return actor
    member = membership(ctx, actor)
    if member.roles is None:
        return actor
    row = await asyncio.to_thread(ctx.store.board_row, subject_id)
    if row is None:
        return actor  # the endpoint says the subject does not exist
    if not member.can_see(row.site_id):
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    if actor.role is not member.default_role:
        # A token scoped to another role (a read-only monitor token) keeps that role.
        return actor
    return Actor(user_id=actor.user_id, role=member.role_at(row.site_id))


def visible(ctx: AppContext, actor: Actor, rows: Iterable[Row]) -> list[Row]:
    """The rows (anything with a ``site_id``) of the user's sites."""
    member = membership(ctx, actor)
    return [row for row in rows if member.can_see(getattr(row, "site_id", None))]


def visible_subject_ids(ctx: AppContext, actor: Actor) -> set[str] | None:
    """The subjects the user may see; None when they see every site."""
    member = membership(ctx, actor)
    if member.roles is None:
        return None
    return {row.subject_id for row in ctx.store.board() if member.can_see(row.site_id)}


def require_site(ctx: AppContext, actor: Actor, command: Any) -> Actor:
    """A registration names its site: only a member of that site may register there."""
    site_id = getattr(command, "site_id", None)
    if command.type != "register" or site_id is None:
        return actor
    member = membership(ctx, actor)
    if not member.can_see(site_id):
        sites = ", ".join(member.sites or ())
        raise RoleNotAllowed(
            f"{actor.user_id} is not a member of site {site_id}; their sites: {sites}",
            field="site_id",
        )
    return Actor(user_id=actor.user_id, role=member.role_at(site_id))
