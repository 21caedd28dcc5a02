"""Outcome feedback: reports, the pipeline that builds them, messages, surveys and delivery.

- ``OutcomeReport`` is one round's report for one set of count inputs (``inputs_key``: the
  hash of the latest tallies' inputs hashes). A recount with new ballots makes a new report;
  running the pipeline again for the same count finds the same report.
- ``PipelineStep`` records each step of the pipeline for a report (build, notify, open data)
  so a manager sees progress and re-runs a failed step.
- ``NotificationSent`` is unique per person and round: the notify step skips anyone already
  listed, so a re-run or a killed worker never sends a second message.
- ``SurveyAnswer`` is anonymous (round and area only); ``SurveyInvitation`` is the per-person
  marker (invited, answered) kept apart from the answer, so a second answer is refused.
- ``Milestone`` tracks a funded project's delivery; ``ProjectFollow`` lists who wants news.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutcomeReport(models.Model):
    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="outcome_reports")
    inputs_key = models.CharField(max_length=64)
    #: The ``pb.Tally`` rows this report describes (their ids), fixed when the report starts.
    tally_ids = models.JSONField(default=list, blank=True)
    #: Everything the report shows that does not change after the count (see
    #: ``feedback.presenter.report_figures``); ``None`` until the build step has finished.
    figures = models.JSONField(null=True, blank=True)
    commentary = models.TextField(blank=True)
    commentary_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    built_at = models.DateTimeField(null=True, blank=True)
    open_data = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "inputs_key"], name="one_report_per_count")
        ]

    def __str__(self) -> str:
        return f"Outcome report for {self.round}"

    @property
    def is_built(self) -> bool:
        return self.figures is not None


class StepName(models.TextChoices):
    REPORT = "report", _("Build the outcome report")
    NOTIFY = "notify", _("Tell participants what happened")
    OPEN_DATA = "open_data", _("Publish the open data")


STEP_ORDER: tuple[str, ...] = (StepName.REPORT, StepName.NOTIFY, StepName.OPEN_DATA)


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PipelineStep(models.Model):
    report = models.ForeignKey(OutcomeReport, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=20, choices=StepName.choices)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "name"], name="one_step_per_report")
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()}: {self.get_status_display()}"

    @property
    def position(self) -> int:
        return STEP_ORDER.index(self.name) + 1

    @property
    def failed(self) -> bool:
        """It stopped with an error; a manager may run it again."""
        return self.status == StepStatus.FAILED


class NotificationSent(models.Model):
    """One outcome message per person per round, whatever happens to the workers."""

    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(
        "accounts.Notification", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    wants_email = models.BooleanField(default=False)
    #: When a worker took the e-mail copy to send; a claim older than the deadline with no
    #: ``emailed_at`` was lost with its worker and is sent again (``outcome_emails_send``).
    claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user"], name="one_outcome_message_per_person")
        ]

    def __str__(self) -> str:
        return f"Outcome message to {self.user_id} for {self.round_id}"


class NI4Answer(models.TextChoices):
    DEFINITELY_AGREE = "definitely_agree", _("Definitely agree")
    TEND_TO_AGREE = "tend_to_agree", _("Tend to agree")
    TEND_TO_DISAGREE = "tend_to_disagree", _("Tend to disagree")
    DEFINITELY_DISAGREE = "definitely_disagree", _("Definitely disagree")
    DONT_KNOW = "dont_know", _("Don't know")


class SurveyInvitation(models.Model):
    """Who was invited and whether they answered; never linked to what they answered."""

    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey("pb.Area", null=True, blank=True, on_delete=models.SET_NULL)
    invited_at = models.DateTimeField(auto_now_add=True)
    answered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user"], name="one_survey_invitation")
        ]

    def __str__(self) -> str:
        return f"Survey invitation for {self.round_id}"


class PendingSurveyAnswer(models.Model):
    """A survey answer waiting to be sealed into ``SurveyAnswer`` (see ``survey_answers_seal``).

    Written in the transaction that marks the person's invitation answered, so the two rows are
    linkable (same ``xmin``, neighbouring on disk) until sealing deletes this one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey("pb.Area", null=True, blank=True, on_delete=models.SET_NULL)
    influence = models.CharField(max_length=20, choices=NI4Answer.choices, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, max_length=2000)

    def __str__(self) -> str:
        return "Pending survey answer"


class SurveyAnswer(models.Model):
    """An anonymous answer: the round, the area and its batch's day, nothing about who gave it.

    Written only by sealing, in shuffled batches of at least 20 (or what is left when the survey
    closes), so neither its id, its ``xmin``, its place on disk nor its day points to the
    invitation it answered.
    """

    round = models.ForeignKey("pb.Round", on_delete=models.CASCADE, related_name="survey_answers")
    area = models.ForeignKey("pb.Area", null=True, blank=True, on_delete=models.SET_NULL)
    influence = models.CharField(max_length=20, choices=NI4Answer.choices, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True, max_length=2000)
    #: The day its batch was sealed, the same for the whole batch.
    sealed_on = models.DateField()

    def __str__(self) -> str:
        return f"Survey answer for {self.round_id}"


class DeliveryStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DELIVERED = "delivered", _("Delivered")
    DELAYED = "delayed", _("Delayed")


class Milestone(models.Model):
    """A step in delivering a funded project: the latest one (by date) gives its status."""

    proposal = models.ForeignKey("pb.Proposal", on_delete=models.CASCADE, related_name="milestones")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    date = models.DateField()
    spend = models.BigIntegerField(default=0, help_text=_("Spent so far, in pence."))
    note = models.TextField(blank=True)
    delay_reason = models.TextField(blank=True)
    photo = models.ImageField(upload_to="milestones/", blank=True)
    photo_alt = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: Set when the project's followers have been told (so a retried task tells them once).
    followers_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(spend__gte=0), name="milestone_spend_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} on {self.date}"


class ProjectFollow(models.Model):
    proposal = models.ForeignKey("pb.Proposal", on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "user"], name="follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.proposal_id}"
