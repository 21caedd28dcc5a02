from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Session policy, not domain logic: every way of logging in goes through Django's
        # ``login()``, which sends this signal (the admin's log-in page included).
        from django.contrib.auth.signals import user_logged_in

        from backend.accounts.sessions import session_limit

        user_logged_in.connect(session_limit, dispatch_uid="accounts.session_limit")
