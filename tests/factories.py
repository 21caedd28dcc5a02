"""factory_boy factories used as fixtures across the suites."""

from __future__ import annotations

import factory

from backend.accounts.models import Profile, Role, User
from pb.areas.models import Area, Theme
from pb.rounds.models import Round


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    role = Role.RESIDENT
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def with_profile(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            Profile.objects.get_or_create(user=self)


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    name = factory.Sequence(lambda n: f"Area {n}")
    slug = factory.Sequence(lambda n: f"area-{n}")
    population = 20_000


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Theme {n}")
    slug = factory.Sequence(lambda n: f"theme-{n}")


class RoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Round

    name = factory.Sequence(lambda n: f"Round {n}")
    slug = factory.Sequence(lambda n: f"round-{n}")
    budget = 5_000_000
    phase = "intake"
    # Most tests hand out codes for nobody in particular; the model's default (off) is tested
    # in tests/register/test_anonymous_codes.py.
    anonymous_codes = True
