"""Pages for comments on proposals: thin views over ``pb.proposals.comments`` (plain forms,
POST-redirect-GET, no JavaScript needed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts import rules as base_rules
from backend.errors import DomainError
from backend.forms import add_domain_error
from pb import rules
from pb.proposals import comments as comment_services
from pb.proposals import selectors as proposal_selectors
from pb.proposals.forms import CommentForm, CommentHideForm
from pb.proposals.models import Comment, CommentStance, Proposal


def _at(comment: Comment) -> str:
    return reverse("proposal_detail", args=[comment.proposal_id]) + f"#comment-{comment.pk}"


def _visible_comment(request: HttpRequest, pk: int) -> Comment:
    comment = get_object_or_404(
        Comment.objects.select_related("proposal__round", "proposal__area"), pk=pk
    )
    if not rules.can_see_proposal(request.user, comment.proposal):
        raise Http404
    return comment


@login_required
@require_POST
def comment_post(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("round", "area", "author"), pk=pk)
    if not rules.can_see_proposal(request.user, proposal):
        raise Http404
    form = CommentForm(request.POST)
    status = 400
    if form.is_valid():
        parent = None
        parent_id = form.cleaned_data["parent"]
        if parent_id is not None:
            parent = Comment.objects.filter(pk=parent_id).first()
            if parent is None:
                form.add_error("parent", _("That comment does not exist."))
        if not form.errors:
            try:
                comment = comment_services.comment_create(
                    author=request.user,
                    proposal=proposal,
                    text=form.cleaned_data["text"],
                    stance=form.cleaned_data["stance"],
                    parent=parent,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Your comment is published."))
                return redirect(_at(comment))
    return render(
        request,
        "pb/comment_form.html",
        {
            "form": form,
            "proposal": proposal,
            "stances": CommentStance.choices,
            "max_length": Comment.MAX_LENGTH,
        },
        status=status,
    )


@login_required
@require_POST
def comment_flag(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _visible_comment(request, pk)
    try:
        comment_services.comment_flag(actor=request.user, comment=comment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        # Flagging twice says the same: the managers have it either way.
        messages.success(request, _("Thank you: the area's managers will look at this comment."))
    return redirect(_at(comment))


def _back(request: HttpRequest, comment: Comment) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(_at(comment))


@login_required
@require_POST
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _visible_comment(request, pk)
    form = CommentHideForm(request.POST)
    form.is_valid()
    try:
        comment_services.comment_hide(
            actor=request.user, comment=comment, reason=form.cleaned_data.get("reason", "")
        )
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The comment is hidden, with your reason shown in its place."))
    return _back(request, comment)


@login_required
@require_POST
def comment_keep(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _visible_comment(request, pk)
    try:
        comment_services.comment_flags_dismiss(actor=request.user, comment=comment)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("The comment stays; its flags are cleared."))
    return _back(request, comment)


@login_required
def comment_queue(request: HttpRequest) -> HttpResponse:
    if not base_rules.manages_any_area(request.user):
        raise PermissionDenied(_("Only area managers moderate comments."))
    return render(
        request,
        "pb/comment_queue.html",
        {
            "comments": proposal_selectors.flagged_comments_for(user=request.user),
            "hide_form": CommentHideForm(),
        },
    )
