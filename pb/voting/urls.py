"""Voting pages: the ballot online and at a kiosk, voter codes, paper keying, decision day."""

from django.urls import path

from pb.voting import views

urlpatterns = [
    # Here rather than in accounts: logging out also clears the voting receipt cookies.
    path("accounts/log-out/", views.LogOutView.as_view(), name="logout"),
    path("rounds/<slug:slug>/vote/", views.vote, name="vote"),
    path("rounds/<slug:slug>/vote/review/", views.vote_review, name="vote_review"),
    path("rounds/<slug:slug>/vote/cast/", views.vote_cast, name="vote_cast"),
    path("rounds/<slug:slug>/vote/receipt/", views.vote_receipt, name="vote_receipt"),
    path("rounds/<slug:slug>/voter-codes/", views.voter_codes, name="voter_codes"),
    path(
        "rounds/<slug:slug>/voter-codes/letters/", views.register_letters, name="register_letters"
    ),
    path("rounds/<slug:slug>/kiosks/", views.kiosk_desk, name="kiosk_desk"),
    path("rounds/<slug:slug>/paper/", views.paper_desk, name="paper_desk"),
    path("rounds/<slug:slug>/register-desk/", views.register_desk, name="register_desk"),
    path("rounds/<slug:slug>/paper/print/", views.paper_print, name="paper_print"),
    path(
        "rounds/<slug:slug>/paper/survey-slips/",
        views.paper_survey_slips,
        name="paper_survey_slips",
    ),
    path("rounds/<slug:slug>/paper/reconcile/", views.paper_reconcile, name="paper_reconcile"),
    path("rounds/<slug:slug>/event/", views.event_desk, name="event_desk"),
    path("rounds/<slug:slug>/event/screen/", views.event_screen, name="event_screen"),
    path("kiosk/", views.kiosk_choose, name="kiosk_choose"),
    path("kiosk/review/", views.kiosk_review, name="kiosk_review"),
    path("kiosk/cast/", views.kiosk_cast, name="kiosk_cast"),
]
