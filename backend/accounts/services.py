"""Writes for people: signing up, profile changes, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
    postcode: str = "",
    age_band: str = "",
    gender: str = "",
    ethnicity: str = "",
    disability: str = "",
    active: bool = True,
) -> User:
    """Create a resident with their profile, or raise ``DomainError`` and create nothing.

    ``active=False`` for a sign-up from the web page: the account cannot log in (so cannot
    vote) until its owner opens the link e-mailed to them (``user_sign_up_request``)."""
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
                is_active=active,
            )
            Profile.objects.create(
                user=user,
                home_area_id=home_area_id,
                birth_year=birth_year,
                postcode=" ".join(postcode.upper().split()),
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


class EmailConfirmationTokens(PasswordResetTokenGenerator):
    """Django's signed, expiring tokens (as for password resets), for confirming a sign-up's
    address. A token stops working once the account is active, so a link works once."""

    key_salt = "backend.accounts.services.EmailConfirmationTokens"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}{user.is_active}{user.email}{timestamp}"


email_confirmation_tokens = EmailConfirmationTokens()


def user_sign_up_request(*, email: str, password: str, **details: Any) -> User | None:
    """A sign-up from the web page, which never tells whether the address has an account.

    Whatever the address, the same checks run (password, birth year: their errors say nothing
    about the address) and the page says the same thing afterwards; the difference is only in
    the e-mail, which only the address's owner reads. A new address gets an inactive account
    and a link to confirm it (``user_email_confirm``); an address that already has an account
    gets a message saying so, with links to log in or reset the password. Returns the new,
    inactive account, or None when the address was taken.
    """
    email = User.objects.normalize_email(email).strip().lower()
    validate_birth_year(details.get("birth_year"))
    candidate = User(email=email, display_name=details.get("display_name", ""))
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), fields={"password1": exc.messages}) from exc
    user: User | None = None
    if not User.objects.filter(email__iexact=email).exists():
        try:
            user = user_sign_up(email=email, password=password, active=False, **details)
        except DomainError:  # taken by a simultaneous sign-up (or refused): as if it existed
            user = None
    if user is None:
        make_password(password)  # the same work as a new account, so timing tells nothing
        _send_already_registered(email)
        return None
    _send_confirmation(user)
    return user


def _send_confirmation(user: User) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_confirmation_tokens.make_token(user)
    link = settings.SITE_URL + reverse("confirm_email", args=[uid, token])
    send_mail(
        _("Confirm your e-mail address for %(site)s") % {"site": settings.SITE_NAME},
        ngettext(
            "Open this link to confirm your e-mail address and finish creating your account:"
            "\n\n%(link)s\n\nThe link works once, for %(days)s day. If you did not sign up, "
            "ignore this message: nothing happens without the link.",
            "Open this link to confirm your e-mail address and finish creating your account:"
            "\n\n%(link)s\n\nThe link works once, for %(days)s days. If you did not sign up, "
            "ignore this message: nothing happens without the link.",
            settings.PASSWORD_RESET_TIMEOUT // 86400,
        )
        % {"link": link, "days": settings.PASSWORD_RESET_TIMEOUT // 86400},
        None,
        [user.email],
    )


def _send_already_registered(email: str) -> None:
    send_mail(
        _("You already have an account on %(site)s") % {"site": settings.SITE_NAME},
        _(
            "Someone, perhaps you, tried to create an account with this e-mail address, but "
            "you already have one.\n\nLog in: %(login)s\nForgotten your password? Set a new "
            "one: %(reset)s\n\nIf it was not you, ignore this message: nothing has changed."
        )
        % {
            "login": settings.SITE_URL + reverse("login"),
            "reset": settings.SITE_URL + reverse("password_reset"),
        },
        None,
        [email],
    )


def user_email_confirm(*, uidb64: str, token: str) -> User | None:
    """Activate the account a confirmation link names; None when the link is wrong, expired or
    already used (the token stops working once the account is active)."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=False).first()
    if user is None or not email_confirmation_tokens.check_token(user, token):
        return None
    user.is_active = True
    user.save(update_fields=["is_active"])
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
    if "postcode" in changes:
        changes = {**changes, "postcode": " ".join(str(changes["postcode"] or "").upper().split())}
    before = (profile.home_area_id, profile.birth_year)
    matched_on = (profile.home_area_id, profile.birth_year, profile.postcode)
    for field, value in changes.items():
        setattr(profile, field, value)
    recheck = profile.verified and before != (profile.home_area_id, profile.birth_year)
    # A match to the register was on these details: other ones may be another resident's.
    rematch = profile.register_entry_id is not None and matched_on != (
        profile.home_area_id,
        profile.birth_year,
        profile.postcode,
    )
    if rematch:
        profile.register_entry = None
        recheck = recheck or profile.verified
    if recheck:
        profile.verified = False
    profile.save()
    return recheck
