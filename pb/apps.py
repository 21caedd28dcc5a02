from django.apps import AppConfig


class PbConfig(AppConfig):
    name = "pb"
    verbose_name = "Participatory budgeting"
