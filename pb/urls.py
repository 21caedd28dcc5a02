from django.urls import path

from pb import views
from pb.counting import views as counting
from pb.proposals import comment_views as comments
from pb.proposals import views as proposals
from pb.rounds import views as rounds
from pb.split import views as split

urlpatterns = [
    # Under accounts/ as before: checking residents needs areas, so the page is pb's.
    path("accounts/residents/check/", views.residents_check, name="residents_check"),
    path("accounts/residents/register/", views.register_import, name="register_import"),
    path("accounts/residents/match/", views.register_match, name="register_match"),
    path("rounds/new/", rounds.round_new, name="round_new"),
    path("rounds/<slug:slug>/", rounds.round_detail, name="round_detail"),
    path("rounds/<slug:slug>/manage/", rounds.round_manage, name="round_manage"),
    path("rounds/<slug:slug>/propose/", proposals.proposal_new, name="proposal_new"),
    path("rounds/<slug:slug>/priorities/", split.priorities, name="priorities"),
    path("rounds/<slug:slug>/split/", split.round_split, name="round_split"),
    path("rounds/<slug:slug>/count/", counting.round_count, name="round_count"),
    path("rounds/<slug:slug>/tally/", counting.round_tally, name="round_tally"),
    path("rounds/<slug:slug>/ballots.<str:fmt>", counting.ballots_file, name="ballots_file"),
    path("rounds/<slug:slug>/receipts.csv", counting.receipts_file, name="receipts_file"),
    path("rounds/<slug:slug>/audit/", rounds.audit_log, name="audit_log"),
    path("rounds/<slug:slug>/review/<slug:area>/", proposals.review_queue, name="review_queue"),
    path("proposals/<int:pk>/", proposals.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/edit/", proposals.proposal_edit, name="proposal_edit"),
    path("proposals/<int:pk>/withdraw/", proposals.proposal_withdraw, name="proposal_withdraw"),
    path("proposals/<int:pk>/support/", proposals.proposal_support, name="proposal_support"),
    path("proposals/<int:pk>/review/", proposals.proposal_review, name="proposal_review"),
    path("proposals/<int:pk>/hide/", proposals.proposal_hide, name="proposal_hide"),
    path(
        "proposals/<int:pk>/translate/",
        proposals.proposal_translate,
        name="proposal_translate",
    ),
    path("proposals/<int:pk>/comments/", comments.comment_post, name="comment_post"),
    path("comments/moderate/", comments.comment_queue, name="comment_queue"),
    path("comments/<int:pk>/flag/", comments.comment_flag, name="comment_flag"),
    path("comments/<int:pk>/hide/", comments.comment_hide, name="comment_hide"),
    path("comments/<int:pk>/keep/", comments.comment_keep, name="comment_keep"),
]
