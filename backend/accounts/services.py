"""Writes for people: signing up, profile changes, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from backend.accounts.models import Notification, Profile, Role, User
from backend.errors import DomainError

OLDEST_BIRTH_YEAR = 1900


def validate_birth_year(year: int | None, *, today: dt.date | None = None) -> None:
    if year is None:
        return
    this_year = (today or dt.date.today()).year
    if year > this_year:
        raise DomainError(_("Your birth year cannot be in the future."), field="birth_year")
    if year < OLDEST_BIRTH_YEAR:
        raise DomainError(
            _("Please enter a year after %(OLDEST_BIRTH_YEAR)s.")
            % {"OLDEST_BIRTH_YEAR": OLDEST_BIRTH_YEAR},
            field="birth_year",
        )


def user_sign_up(
    *,
    email: str,
    password: str,
    display_name: str = "",
    home_area_id: int | None = None,
    birth_year: int | None = None,
    age_band: str = "",
    gender: str = "",
    ethnicity: str = "",
    disability: str = "",
) -> User:
    """Create a resident with their profile, or raise ``DomainError`` and create nothing."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("An account with this e-mail address already exists."), field="email")
    validate_birth_year(birth_year)
    candidate = User(email=email, display_name=display_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), fields={"password1": exc.messages}) from exc
    try:
        with transaction.atomic():
            # The language they signed up in is the one they read: keep it for e-mails.
            user = User.objects.create_user(
                email=email,
                password=password,
                display_name=display_name,
                role=Role.RESIDENT,
                language=translation.get_language() or "",
            )
            Profile.objects.create(
                user=user,
                home_area_id=home_area_id,
                birth_year=birth_year,
                age_band=age_band,
                gender=gender,
                ethnicity=ethnicity,
                disability=disability,
            )
    except IntegrityError as exc:  # a simultaneous sign-up with the same address
        raise DomainError(
            _("An account with this e-mail address already exists."), field="email"
        ) from exc
    return user


def profile_for(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def notify(*, user: User, subject: str, body: str, url: str = "") -> Notification:
    """Put a message on the person's dashboard and, if they want e-mail, send a copy.

    Call it after the change it reports has committed (the caller wraps it in ``on_commit``
    when inside a transaction) so nobody hears about something that was rolled back.
    """
    notification = Notification.objects.create(user=user, subject=subject, body=body, url=url)
    profile = getattr(user, "profile", None)
    if profile is None or profile.email_notifications:
        link = f"\n\n{settings.SITE_URL}{url}" if url else ""
        send_mail(subject, body + link, None, [user.email], fail_silently=True)
    return notification


def user_language_set(*, user: User, language: str) -> User:
    """Remember the language a person chose, for their pages, e-mails and notifications."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("That language is not offered here."), field="language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def user_language(user: User | None) -> str:
    """The language to write to this person in: theirs, else the site's."""
    language = getattr(user, "language", "") if user is not None else ""
    return language or settings.LANGUAGE_CODE


def profile_update(*, profile: Profile, changes: dict[str, Any]) -> bool:
    """Save a resident's own details; returns True when they need checking again.

    Staff confirm the home area and birth year before an account may vote, so changing
    either of them after a check clears ``verified`` (otherwise a checked resident could move
    their vote to another area).
    """
    validate_birth_year(changes.get("birth_year"))
    before = (profile.home_area_id, profile.birth_year)
    for field, value in changes.items():
        setattr(profile, field, value)
    recheck = profile.verified and before != (profile.home_area_id, profile.birth_year)
    if recheck:
        profile.verified = False
    profile.save()
    return recheck
