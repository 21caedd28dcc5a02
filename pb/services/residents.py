"""Checking residents: a manager confirms a resident's home area and age so they can vote with
their account. It needs both people (``backend.accounts``) and areas (pb), so it lives in pb."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from backend.accounts.models import Actor, Profile
from backend.accounts.services import notify, user_language
from backend.errors import Conflict, DomainError, NotAllowed
from pb import rules
from pb.areas.models import Area
from pb.models import AuditAction
from pb.services.audit import audit
from pb.voting.models import Participation, RegisterEntry


def profile_verify(
    *,
    actor: Actor,
    profile: Profile,
    confirmed: bool,
    reason: str = "",
    seen: tuple[int | None, int | None] | None = None,
    register_entry: RegisterEntry | None = None,
) -> Profile:
    """A manager confirms a resident's home area and age (from the electoral register or a
    document seen at the counter), or turns them down with a reason the resident is told.

    Only a manager of the resident's home area may decide; the decision is in the audit log.
    ``seen`` is the (home area id, birth year) the manager checked: the stored row is locked
    and a confirmation is refused when the resident has changed them since, so nobody is
    checked on details the manager never saw.

    ``register_entry``: the resident on the register the manager found this account to be,
    when bulk matching could not tell (a misspelt name, a new postcode). The account then votes
    as that resident on every channel, as a matched one does. The entry must be of the
    resident's home area (or the ward around it, or a neighbourhood in it), kept by the
    manager, and held by no other account. The account's earlier votes are recorded as the
    resident's too; if the resident has voted in one of those rounds in another way as well, the
    link is refused, saying so.
    """
    if not confirmed and not reason.strip():
        raise DomainError(_("Say why, so the resident knows what to do."), field="reason")
    if register_entry is not None and not confirmed:
        raise DomainError(
            _("A resident is linked to the register only when confirmed."), field="register_entry"
        )
    with transaction.atomic():
        stored = (
            Profile.objects.select_for_update(of=("self",))
            .select_related("home_area")
            .get(pk=profile.pk)
        )
        area = stored.home_area
        if area is None:
            raise DomainError(_("This person has not said where they live yet."))
        if rules.is_signed_in(actor) and actor.pk == stored.user_id:
            raise NotAllowed(
                _("Nobody checks their own details: ask another manager of your area."),
                code="same_person",
            )
        if not rules.can_check_resident(actor, stored.user, area):
            raise NotAllowed(_("Only the managers of the resident's home area can check them."))
        if confirmed and seen is not None and seen != (stored.home_area_id, stored.birth_year):
            raise Conflict(
                _(
                    "This resident has changed their home area or birth year since you looked: "
                    "check the new details."
                )
            )
        profile.home_area, profile.birth_year = area, stored.birth_year
        profile.verified = confirmed
        details: dict[str, int] = {"user": profile.user_id}
        if register_entry is not None:
            _link(actor, profile, area, register_entry)
            details["register_entry"] = register_entry.pk
        profile.save(update_fields=["verified", "register_entry"])
        audit(
            actor=actor,
            action=AuditAction.RESIDENT_VERIFY if confirmed else AuditAction.RESIDENT_DECLINE,
            area=area,
            reason=reason,
            details=details,
        )
    if confirmed:
        tell_checked(profile, area)
        return profile
    with translation.override(user_language(profile.user)):  # in the resident's language
        subject = _("We could not check your details")
        body = _(
            "We could not confirm your home area or age: %(reason)s You can correct "
            "them on your profile page, or vote with the voter code from your letter."
        ) % {"reason": reason.strip()}
    transaction.on_commit(
        lambda: notify(user=profile.user, subject=subject, body=body, url="/accounts/profile/")
    )
    return profile


def _link(actor: Actor, profile: Profile, home: Area, entry: RegisterEntry) -> None:
    """Link ``profile`` to ``entry`` inside ``profile_verify``'s transaction (see there)."""
    there = entry.area
    # Permission first: the mismatch message below names the entry's area, which someone who
    # does not keep that register must not learn by trying entry ids.
    if not rules.can_keep_register(actor, there):
        raise NotAllowed(
            _("Only the managers of the resident's area link them to its register."),
            field="register_entry",
        )
    if not (home.pk == there.pk or there.parent_id == home.pk or home.parent_id == there.pk):
        raise DomainError(
            _(
                "That resident on the register lives in %(there)s, but this account says "
                "%(home)s: check the account's home area first."
            )
            % {"there": there.name, "home": home.name},
            field="register_entry",
        )
    taken = Conflict(
        _("That resident on the register is already linked to another account."),
        field="register_entry",
        code="entry_taken",
    )
    if Profile.objects.filter(register_entry=entry).exclude(pk=profile.pk).exists():
        raise taken
    profile.register_entry = entry
    try:
        with transaction.atomic():
            Participation.objects.filter(
                voter_id=profile.user_id, register_entry__isnull=True
            ).update(register_entry=entry)
            profile.save(update_fields=["register_entry"])
    except IntegrityError as exc:
        profile.register_entry = None
        if "one_vote_per_register_entry" in str(exc) or "pb_participation" in str(exc):
            raise Conflict(
                _(
                    "That resident on the register has already voted in a round this account "
                    "voted in too, so they cannot be linked: look into the double vote."
                ),
                field="register_entry",
                code="resident_already_voted",
            ) from exc
        raise taken from exc


def tell_checked(profile: Profile, area: Area) -> None:
    """Tell the resident, in their language, that they can now vote with their account."""
    with translation.override(user_language(profile.user)):
        subject = _("Your details are checked")
        body = _(
            "We have checked that you live in %(area)s and your age. You can now vote "
            "with your account in rounds for your area."
        ) % {"area": area.name}
    transaction.on_commit(
        lambda: notify(user=profile.user, subject=subject, body=body, url="/accounts/profile/")
    )
