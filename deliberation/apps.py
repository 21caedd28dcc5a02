from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = "Deliberation rooms"
