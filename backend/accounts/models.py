"""People and their roles.

A person logs in with their e-mail address. Their *role* says what kind of work they do on the
platform; where a role is scoped (managers to their areas, councillors to their wards) the scope
lives on ``pb.Area`` as many-to-many links, so one place says who answers for an area.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    MANAGER = "manager", _("Neighbourhood manager")
    FACILITATOR = "facilitator", _("Facilitator")
    EVENT_STAFF = "event_staff", _("Event staff")
    COUNCILLOR = "councillor", _("Councillor")
    ADMIN = "admin", _("Administrator")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("name shown to others"), max_length=80, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RESIDENT)
    # The language pages, e-mails and notifications reach this person in; blank until they
    # choose one (then the browser's Accept-Language or the site default applies).
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default=""
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name or self.email.split("@")[0]

    @property
    def public_name(self) -> str:
        return self.display_name or str(_("Resident"))


class AgeBand(models.TextChoices):
    UNDER_18 = "under_18", _("Under 18")
    A18_24 = "18_24", "18–24"
    A25_34 = "25_34", "25–34"
    A35_44 = "35_44", "35–44"
    A45_54 = "45_54", "45–54"
    A55_64 = "55_64", "55–64"
    A65_PLUS = "65_plus", _("65 or over")

    @classmethod
    def for_age(cls, age: int) -> AgeBand:
        for upper, band in (
            (17, cls.UNDER_18),
            (24, cls.A18_24),
            (34, cls.A25_34),
            (44, cls.A35_44),
            (54, cls.A45_54),
            (64, cls.A55_64),
        ):
            if age <= upper:
                return band
        return cls.A65_PLUS


class Gender(models.TextChoices):
    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    NON_BINARY = "non_binary", _("Non-binary")
    OTHER = "other", _("Another way")


class Ethnicity(models.TextChoices):
    # The five high-level groups of the 2021 census of England and Wales.
    ASIAN = "asian", _("Asian or Asian British")
    BLACK = "black", _("Black, Black British, Caribbean or African")
    MIXED = "mixed", _("Mixed or multiple ethnic groups")
    WHITE = "white", _("White")
    OTHER = "other", _("Another ethnic group")


class Profile(models.Model):
    """What a resident tells us about themselves.

    ``home_area`` and ``birth_year`` decide eligibility; ``verified`` says staff checked them.
    The demographic fields are voluntary and used only for inclusion statistics: blank means
    "prefer not to say".
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    home_area = models.ForeignKey(
        "pb.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="residents"
    )
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    #: Optional: with the name and birth year it matches the account to the council's register.
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    verified = models.BooleanField(
        default=False, help_text=_("Staff have checked the home area and birth year.")
    )
    #: The register entry this account was matched to (``pb.services.register``): the one
    #: resident it votes as, whatever the channel. Cleared when the details change.
    register_entry = models.OneToOneField(
        "pb.RegisterEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="profile",
    )
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=12, choices=Gender.choices, blank=True)
    ethnicity = models.CharField(max_length=10, choices=Ethnicity.choices, blank=True)
    disability = models.CharField(
        max_length=3, choices=[("yes", _("Yes")), ("no", _("No"))], blank=True
    )
    email_notifications = models.BooleanField(
        default=True, help_text=_("Send me e-mails about my proposals, votes and results.")
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Notification(models.Model):
    """A message on a person's dashboard; e-mail copies respect their notification choice."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


#: The person a service acts for (``actor``): a signed-in ``User``, or the anonymous visitor a
#: request carries, whom the service refuses with a message (``rules.is_signed_in``).
Actor: TypeAlias = "User | AnonymousUser"
