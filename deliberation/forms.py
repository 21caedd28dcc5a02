"""Input for the room pages. Room actions are posted as protocol frames (``protocol.perform``);
only creating a room needs a Django form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from deliberation.selectors import proposals_to_discuss
from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RoomForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=160)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=_DATETIME)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=_DATETIME, required=False)
    area = forms.ModelChoiceField(
        label=_("Only for residents of"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=_("Everyone (no area)"),
    )
    proposal = forms.ModelChoiceField(
        label=_("About one proposal"),
        queryset=Proposal.objects.none(),
        required=False,
        empty_label=_("The whole round"),
    )
    agenda = forms.CharField(
        label=_("Agenda"),
        help_text=_("One item a line, in order."),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        proposal_field = self.fields["proposal"]
        assert isinstance(area_field, forms.ModelChoiceField)
        assert isinstance(proposal_field, forms.ModelChoiceField)
        area_field.queryset = round.areas.all()
        proposal_field.queryset = proposals_to_discuss(round)
