from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Outcome feedback"

    def ready(self) -> None:
        # pb announces a committed count; the outcome report, notifications and open data
        # follow (pb cannot import this app, so it announces and we subscribe).
        from feedback.tasks import start_outcome_pipeline
        from pb.events import round_counted_subscribe

        round_counted_subscribe(start_outcome_pipeline)
