from rest_framework.routers import DefaultRouter

from pb import api
from pb.proposals import api as proposals
from pb.rounds import api as rounds

router = DefaultRouter()
router.register("areas", api.AreaViewSet, basename="area")
router.register("themes", api.ThemeViewSet, basename="theme")
router.register("rounds", rounds.RoundViewSet, basename="round")
router.register("proposals", proposals.ProposalViewSet, basename="proposal")

urlpatterns = router.urls
