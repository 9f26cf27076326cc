"""The site staff the simulation acts as, one user per role that writes."""

from __future__ import annotations

from domain.actors import Actor, Role

__all__ = ["COORDINATOR", "INVESTIGATOR", "PI"]

COORDINATOR = Actor(user_id="sim-coordinator", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="sim-investigator", role=Role.INVESTIGATOR)
PI = Actor(user_id="sim-pi", role=Role.PI)
