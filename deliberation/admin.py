from django.contrib import admin

from deliberation.models import AgendaItem, Contribution, Mute, Poll, PollOption, Room, RoomEvent


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 1


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("title", "round", "state", "starts_at", "last_seq")
    list_filter = ("state",)
    inlines = [AgendaItemInline]
    filter_horizontal = ("facilitators",)
    readonly_fields = ("last_seq", "current_item", "timer_ends_at", "closed_at")


@admin.register(Contribution)
class ContributionAdmin(admin.ModelAdmin):
    list_display = ("room", "author", "kind", "hidden", "pinned", "created_at")
    list_filter = ("kind", "hidden")


class PollOptionInline(admin.TabularInline):
    model = PollOption
    extra = 0


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ("question", "room", "opened_at", "closed_at")
    inlines = [PollOptionInline]


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "created_at")


@admin.register(RoomEvent)
class RoomEventAdmin(admin.ModelAdmin):
    list_display = ("room", "seq", "type", "created_at")
    list_filter = ("type",)
