from rest_framework.routers import DefaultRouter

from pb import api

router = DefaultRouter()
router.register("areas", api.AreaViewSet, basename="area")
router.register("rounds", api.RoundViewSet, basename="round")

urlpatterns = router.urls
