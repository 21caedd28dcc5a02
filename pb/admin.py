from django.contrib import admin

from pb.areas.models import Area, AreaNeed, Theme
from pb.models import AuditEntry
from pb.proposals.models import Proposal
from pb.rounds.models import PhaseWindow, Round, RoundArea


class RoundAreaInline(admin.TabularInline):
    model = RoundArea
    extra = 0


class PhaseWindowInline(admin.TabularInline):
    model = PhaseWindow
    extra = 0


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["name", "style", "phase", "budget", "rule"]
    list_filter = ["style", "phase"]
    inlines = [RoundAreaInline, PhaseWindowInline]
    prepopulated_fields = {"slug": ("name",)}


class AreaNeedInline(admin.TabularInline):
    model = AreaNeed
    extra = 0


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    inlines = [AreaNeedInline]
    list_display = ["name", "kind", "parent", "population"]
    filter_horizontal = ["managers", "councillors"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["title", "round", "area", "status", "hidden"]
    list_filter = ["round", "status", "hidden"]
    search_fields = ["title"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "round", "proposal", "area"]
    list_filter = ["action"]
