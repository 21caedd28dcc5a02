"""Permission predicates: the one place that says who may do what.

Views, the API and WebSocket consumers all call these (directly or through the services that
call them), so a rule changes in one place. Each predicate takes the user first and answers a
plain ``bool``; anonymous users are simply ``False`` for anything that needs a role.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeGuard

from backend.accounts.models import Actor, Role, User


class Area(Protocol):
    """What these predicates need of an area (``pb.Area``): accounts imports nothing from pb,
    which is built on it. Managers' and councillors' areas are pb's links to the user."""

    @property
    def pk(self) -> Any: ...

    @property
    def parent(self) -> Area | None: ...


def is_signed_in(user: Actor | None) -> TypeGuard[User]:
    return bool(user is not None and user.is_authenticated and user.is_active)


def signed_in_user(actor: Actor | None) -> User:
    """The ``User`` behind ``actor``, for a row that names who did something. Services refuse
    an anonymous actor, with their own message, before they write; this fails only on a bug."""
    if not isinstance(actor, User):
        raise TypeError("a service wrote a record for someone not signed in")
    return actor


def user_or_none(actor: Actor | None) -> User | None:
    """The ``User`` behind ``actor``, or ``None`` (anonymous, or the system acting)."""
    return actor if isinstance(actor, User) else None


def is_admin(user: Actor) -> TypeGuard[User]:
    return is_signed_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def has_role(user: Actor, *roles: Role) -> TypeGuard[User]:
    return is_signed_in(user) and (user.role in roles or is_admin(user))


def _area_and_ancestors(area: Area) -> list[int]:
    ids: list[int] = []
    node: Area | None = area
    while node is not None and node.pk not in ids:
        ids.append(node.pk)
        node = node.parent
    return ids


def manages_area(user: Actor, area: Area) -> bool:
    """Admins manage everything; a manager manages their areas and the neighbourhoods in them."""
    if is_admin(user):
        return True
    if not has_role(user, Role.MANAGER):
        return False
    return user.managed_areas.filter(pk__in=_area_and_ancestors(area)).exists()


def manages_any_area(user: Actor) -> TypeGuard[User]:
    return is_admin(user) or (has_role(user, Role.MANAGER) and user.managed_areas.exists())


def represents_area(user: Actor, area: Area) -> bool:
    """A councillor sees reports for their wards and the neighbourhoods inside them."""
    if is_admin(user):
        return True
    if not has_role(user, Role.COUNCILLOR):
        return False
    return user.represented_areas.filter(pk__in=_area_and_ancestors(area)).exists()


def can_read_audit(user: Actor, area: Area | None = None) -> bool:
    if area is None:
        return is_admin(user) or has_role(user, Role.MANAGER, Role.COUNCILLOR)
    return manages_area(user, area) or represents_area(user, area)


def can_facilitate(user: Actor) -> bool:
    return has_role(user, Role.FACILITATOR, Role.MANAGER)


def can_run_events(user: Actor) -> bool:
    return has_role(user, Role.EVENT_STAFF, Role.MANAGER)
