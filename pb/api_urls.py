from rest_framework.routers import DefaultRouter

from pb import api

router = DefaultRouter()
router.register("areas", api.AreaViewSet, basename="area")
router.register("themes", api.ThemeViewSet, basename="theme")
router.register("rounds", api.RoundViewSet, basename="round")
router.register("proposals", api.ProposalViewSet, basename="proposal")

urlpatterns = router.urls
