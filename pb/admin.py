from django.contrib import admin

from pb import models


class RoundAreaInline(admin.TabularInline):
    model = models.RoundArea
    extra = 0


class PhaseWindowInline(admin.TabularInline):
    model = models.PhaseWindow
    extra = 0


@admin.register(models.Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["name", "style", "phase", "budget", "rule"]
    list_filter = ["style", "phase"]
    inlines = [RoundAreaInline, PhaseWindowInline]
    prepopulated_fields = {"slug": ("name",)}


class AreaNeedInline(admin.TabularInline):
    model = models.AreaNeed
    extra = 0


@admin.register(models.Area)
class AreaAdmin(admin.ModelAdmin):
    inlines = [AreaNeedInline]
    list_display = ["name", "kind", "parent", "population"]
    filter_horizontal = ["managers", "councillors"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(models.Theme)
class ThemeAdmin(admin.ModelAdmin):
    prepopulated_fields = {"slug": ("name",)}


@admin.register(models.Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["title", "round", "area", "status", "hidden"]
    list_filter = ["round", "status", "hidden"]
    search_fields = ["title"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "round", "proposal", "area"]
    list_filter = ["action"]
