"""The live protocol at ``/ws/rooms/<room id>/``: a thin adapter over ``protocol.perform``.

A connection forwards nothing until the client sends ``join {last_seq}``. It then replays the
logged events after ``last_seq`` and forwards live ones, skipping any it already sent and
re-reading from the log any it has not seen (events can reach a process slightly out of order,
or not at all while Redis restarts), so every client receives every event exactly once and in
order. Live events reach the connection from its room's hub (``deliberation.hub``), one per
room and process. See docs/live-protocol.md.

A connection is bounded: frames over ``MAX_FRAME_BYTES`` get an ``error`` frame (the servers
refuse larger ones before they reach here, see ``FRAME_LIMIT_CONFIGS``), each connection may
send ``FRAME_BURST`` frames at once and ``FRAME_RATE`` a second after that (an ``error`` frame
for each one over, and a close once ``STRIKES_BEFORE_CLOSE`` of them pile up), and replays the
whole log at most once. A person's sockets close when they log out or their account is closed.
Frames to a client that stops reading wait in a bounded queue (``OUTBOX_LIMIT``); past it the
connection is closed with ``CLOSE_TOO_SLOW`` and the client comes back with its ``last_seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from backend.accounts.models import Actor
from backend.accounts.rules import user_or_none
from backend.consumers import DIRECT_SEND, JsonFrameConsumer
from backend.errors import DomainError
from backend.health import database_unavailable
from deliberation import light, protocol, rights, rules
from deliberation.hub import RoomHub, batch_text, current_seq, hubs, missed, presence_count
from deliberation.models import Room
from deliberation.rights import RoomRights

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_NOT_ALLOWED = 4403
#: The person logged out or their account was closed.
CLOSE_SIGNED_OUT = 4401
#: The connection kept sending faster than the limit after being told.
CLOSE_TOO_FAST = 4429
#: The client stopped reading: more than ``OUTBOX_LIMIT`` waited to be written to it.
CLOSE_TOO_SLOW = 4408

#: Characters of frames that may wait for a client that does not read (beyond what the server
#: and the kernel already buffer): about half a minute of a busy room. Past it the connection
#: is closed with ``CLOSE_TOO_SLOW`` and the client comes back with its ``last_seq``.
OUTBOX_LIMIT = 256 * 1024

#: The largest frame a client may send, in bytes (UTF-8). uvicorn (``--ws-max-size``) and
#: daphne (``DAPHNE_WEBSOCKET_MAX_*``) refuse larger ones before they reach the consumer.
MAX_FRAME_BYTES = 64 * 1024
#: Frames a connection may send at once, and how many a second it earns back.
FRAME_BURST = 30
FRAME_RATE = 5.0
#: Frames refused for speed that a connection may pile up (one is forgiven a second) before it
#: is closed: a client that is a little too fast is told; one that floods is cut off.
STRIKES_BEFORE_CLOSE = 20
#: A join that would replay more than this many events counts as a full replay, like
#: ``last_seq`` 0: each connection gets one.
FULL_REPLAY_EVENTS = 200
#: The largest ``last_seq`` a client may send: JavaScript's largest exact integer.
MAX_LAST_SEQ = 2**53 - 1
#: The clock of the frame limits (tests stop it).
frame_clock: Callable[[], float] = time.monotonic


def _readable(room_id: int, user: Actor) -> bool | None:
    room = Room.objects.select_related("round").filter(pk=room_id).first()
    if room is None:
        return None
    return rules.can_read_room(user, room)


def _perform(
    language: str,
    room_id: int,
    user: Actor,
    content: dict[str, Any],
    room_rights: RoomRights | None = None,
) -> None:
    # The ORM work runs in a worker thread: activate the person's language there too.
    with translation.override(language):
        protocol.perform(room_id, user, content, room_rights)


def scope_user(scope: dict[str, Any]) -> Actor:
    """The person behind a WebSocket, as Channels' ``AuthMiddlewareStack`` put them in its
    scope: a ``User``, or the anonymous visitor (also without that middleware)."""
    user: Actor | None = scope.get("user")
    return AnonymousUser() if user is None else user


def scope_language(scope: dict[str, Any]) -> str:
    """The language of the person behind a WebSocket, chosen as for their pages: the account's,
    else the language cookie, else the browser's Accept-Language, else the site's."""
    user = user_or_none(scope_user(scope))
    chosen = user.language if user is not None else ""
    if not chosen:
        chosen = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, "")
    if not chosen:
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        for code, _quality in trans_real.parse_accept_lang_header(accept):
            try:
                chosen = translation.get_supported_language_variant(code)
            except LookupError:
                continue
            break
    try:
        return translation.get_supported_language_variant(chosen or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _frame_size(text_data: str | None, bytes_data: bytes | None) -> int:
    if bytes_data is not None:
        return len(bytes_data)
    if text_data is None:
        return 0
    # A character is 1 to 4 bytes: encode only when the length alone cannot tell.
    if len(text_data) * 4 <= MAX_FRAME_BYTES:
        return len(text_data)
    return len(text_data.encode("utf-8", "surrogatepass"))


def _still_signed_in(user_id: int, session_key: str | None) -> bool:
    """The account is active and, for a socket opened with a session, the session still exists
    (logging out deletes it): a backstop for a close announcement the channel layer lost."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.base import SessionBase

    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        return False
    if not session_key:
        return True
    from importlib import import_module

    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore()
    return bool(store.exists(session_key))


class SignedOut(DomainError):
    code = "signed_out"


class RoomConsumer(JsonFrameConsumer):
    # No channel per connection: the room's hub receives for every connection of the process.
    channel_layer_alias = "rooms-use-the-hub"

    room_id: int
    language: str = "en-gb"
    hub: RoomHub | None = None
    joined = False
    catching_up = False
    last_seq = 0
    #: Whether this connection is counted in its room's presence (a signed-in person who joined).
    counted = False
    full_replays = 0
    tokens = float(FRAME_BURST)
    strikes = 0.0
    checked_at = 0.0
    closing = False
    user_id: int | None = None
    session_key: str | None = None
    #: Until when (``rights.clock``) a reaction or hand need not check again that the account
    #: is active and the session exists; a contribution always checks.
    signed_in_until = 0.0
    #: Frames waiting behind a write the server could not finish at once (the client is not
    #: reading), their size in characters, and the task writing them in order.
    outbox: deque[str]
    outbox_size = 0
    writer: asyncio.Task[None] | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' own, less its ``close_old_connections`` before every message: that call
        runs in the process's one thread-sensitive database thread, the one contributions use,
        so each reaction or hand frame queued a trip there ahead of the next contribution. This
        consumer never touches the database on the event loop; ``database_sync_to_async``
        closes old connections around each piece of database work, in whichever thread."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.outbox = deque()
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        self.user = scope_user(self.scope)
        self.language = scope_language(self.scope)
        self.checked_at = frame_clock()
        await self.accept()
        readable = await database_sync_to_async(_readable)(self.room_id, self.user)
        if readable is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not readable:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        if rules.is_signed_in(self.user):
            self.user_id = self.user.pk
            session = self.scope.get("session")
            self.session_key = getattr(session, "session_key", None) if session else None
            await hubs.watch_account(self.user_id, self)
        self.hub = await hubs.enter(self.room_id, self)

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.user_id is not None:
            hubs.unwatch_account(self.user_id, self)
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hubs.leave(hub, self)
        if self.counted:
            self.counted = False
            assert self.user_id is not None
            await hubs.person_left(self.room_id, self.user_id)

    def _take_token(self) -> bool:
        """One frame's worth of the connection's allowance (a token bucket); False when it
        has none left, which also adds a strike (strikes fade at one a second)."""
        now = frame_clock()
        elapsed = max(0.0, now - self.checked_at)
        self.checked_at = now
        self.tokens = min(float(FRAME_BURST), self.tokens + elapsed * FRAME_RATE)
        self.strikes = max(0.0, self.strikes - elapsed)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes += 1
        return False

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.hub is None or self.closing:
            return
        with translation.override(self.language):
            if not self._take_token():
                if self.strikes > STRIKES_BEFORE_CLOSE:
                    await self.send_error(
                        "rate_limited", _("Too many frames, too fast: this connection is closed.")
                    )
                    await self.shut(CLOSE_TOO_FAST)
                else:
                    await self.send_error(
                        "rate_limited",
                        _("Too many frames, too fast: at most %(rate)s a second.")
                        % {"rate": int(FRAME_RATE)},
                    )
                return
            if _frame_size(text_data, bytes_data) > MAX_FRAME_BYTES:
                await self.send_error(
                    "too_large",
                    _("Frames may be at most %(kib)s KiB.") % {"kib": MAX_FRAME_BYTES // 1024},
                )
                return
            read, frame = await self.read_frame(text_data)
            if not read:
                return
        await self.receive_json(frame)

    async def shut(self, code: int) -> None:
        """Close this connection with ``code``; frames still queued are ignored."""
        with contextlib.suppress(Exception):
            await self.close(code=code)

    # Once a connection is closing (closed by us, by the hub, or gone) nothing more is sent:
    # an answer, a replay or a live event may still be on its way, and the server raises on a
    # send after a close (uvicorn: RuntimeError; a vanished client: ClientDisconnected). Found
    # by bench/ws_flood.py: each such raise ended the connection with a traceback in the log.
    # A send that fails costs this connection only, as a failed write does in the hub.

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closing:
            return
        self.closing = True
        await super().close(code=code, reason=reason)

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """This connection's own frames (answers, replays): in order with the hub's, and
        waiting while the client is slow to read rather than piling up."""
        if text_data is None or bytes_data is not None or close:
            await self._write(text_data=text_data, bytes_data=bytes_data, close=close)
            return
        self.push(text_data)
        if self.writer is not None:
            await asyncio.wait((self.writer,))

    def push(self, text: str) -> None:
        """Write ``text`` without waiting for the client: what the hub calls for every
        connection of a room, so a client that stops reading costs its own connection only.

        A write usually completes at once (the server waits only when the socket's buffer is
        full), so it is started here, inline: a task per connection and frame would cost more
        than the write itself on a 2,000-reader fan-out. A write that has to wait goes on in
        a task, and later frames queue behind it, in order, up to ``OUTBOX_LIMIT``; past that
        the client is not reading, and the connection is closed (``CLOSE_TOO_SLOW``). Its
        client reconnects with its ``last_seq`` and misses nothing.
        """
        if self.closing:
            return
        if self.writer is not None:
            self.outbox.append(text)
            self.outbox_size += len(text)
            if self.outbox_size > OUTBOX_LIMIT:
                self._too_slow()
            return
        write = self._write(text_data=text)
        try:
            waiting_for = write.send(None)
        except StopIteration:
            return
        self.writer = hubs.spawn(self._write_on(write, waiting_for))

    async def _write_on(self, write: Coroutine[Any, Any, None], waiting_for: Any) -> None:
        """Finish a write that had to wait, then write what queued behind it, in order."""
        try:
            await _carry_on(write, waiting_for)
            while self.outbox and not self.closing:
                text = self.outbox.popleft()
                self.outbox_size -= len(text)
                await self._write(text_data=text)
        finally:
            self.writer = None
            self.outbox.clear()
            self.outbox_size = 0

    def _too_slow(self) -> None:
        logger.info("Room %s: a client that stopped reading was dropped", self.room_id)
        self.closing = True
        self.outbox.clear()
        self.outbox_size = 0
        if self.writer is not None:
            self.writer.cancel()
        # The close frame goes out after what the server has already buffered, so the client
        # reads everything it was sent up to here, then the close, then reconnects.
        hubs.spawn(self._close_now(CLOSE_TOO_SLOW))

    async def _close_now(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await super().close(code=code)

    async def _write(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if self.closing:
            return
        try:
            direct = self.scope.get(DIRECT_SEND)
            if direct is not None and text_data is not None and bytes_data is None and not close:
                await direct({"type": "websocket.send", "text": text_data})
            else:
                await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Exception:
            logger.info("Room %s: a connection could not be written to", self.room_id)
            self.closing = True
            # If the client is in fact still there, it reconnects with its last_seq.
            with contextlib.suppress(Exception):
                await super().close()

    async def send_json(self, content: Any, close: bool = False) -> None:
        await self.send(text_data=await self.encode_json(content), close=close)

    async def signed_out(self) -> None:
        """Called by the hubs when this person logged out or their account was closed."""
        if self.closing:
            return
        with translation.override(self.language), contextlib.suppress(Exception):
            await self.send_error("signed_out", _("You are logged out: log in again to take part."))
        await self.shut(CLOSE_SIGNED_OUT)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.hub is None:
            return
        # Error frames and what this person writes are in their page's language.
        with translation.override(self.language):
            if not isinstance(content, dict):
                await self.send_error("bad_json", _("Frames must be JSON objects."))
                return
            try:
                if content.get("type") == "join":
                    await self.join(content)
                else:
                    protocol.action_for(content)
                    if content.get("type") in protocol.LIGHT_ACTIONS:
                        # Reactions and hands (checked, then counted in aggregate) have database
                        # threads of their own: in the process's one database thread, 50 a
                        # second queued every contribution behind them. Their checks are kept
                        # by the room's hub (deliberation.rights): most need no database.
                        await database_sync_to_async(
                            self._perform_checked, thread_sensitive=False, executor=light.THREADS
                        )(content, self.hub.rights)
                    else:
                        await database_sync_to_async(self._perform_checked)(content)
            except SignedOut as exc:
                await self.send_error(exc.code, exc.message, ref=content.get("ref"))
                await self.shut(CLOSE_SIGNED_OUT)
            except DomainError as exc:
                await self.send_error(
                    exc.code, exc.message, ref=content.get("ref"), fields=exc.fields
                )
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                # The database is down or restarting: nothing was stored. The connection
                # stays; the client sends the frame (or its join) again later.
                logger.warning("Room %s: a frame met a database outage: %s", self.room_id, exc)
                await self.send_error(
                    "unavailable", _("Please try again in a minute"), ref=content.get("ref")
                )

    def _perform_checked(
        self, content: dict[str, Any], room_rights: RoomRights | None = None
    ) -> None:
        """Carry out a frame (in the database thread), first making sure a signed-in person
        still is: the account active and the session not logged out. A reaction or hand
        (``room_rights`` given) trusts a check made less than ``rights.TTL`` seconds ago: a
        logout or a closed account closes the socket at once anyway (``signed_out``); this
        check is the backstop for when that announcement is lost."""
        if self.user_id is not None:
            now = rights.clock()
            if room_rights is None or now >= self.signed_in_until:
                if not _still_signed_in(self.user_id, self.session_key):
                    raise SignedOut(_("You are logged out: log in again to take part."))
                self.signed_in_until = now + rights.TTL
        _perform(self.language, self.room_id, self.user, content, room_rights)

    async def join(self, frame: dict[str, Any]) -> None:
        last_seq = frame.get("last_seq", 0)
        if (
            isinstance(last_seq, bool)
            or not isinstance(last_seq, int)
            or not 0 <= last_seq <= MAX_LAST_SEQ
        ):
            raise protocol.ProtocolError(
                _("'last_seq' must be a whole number from 0 to %(max)s.") % {"max": MAX_LAST_SEQ},
                field="last_seq",
                code="invalid",
            )
        current = await database_sync_to_async(current_seq)(self.room_id)
        # A client cannot have seen more than the log holds; trusting it would skip live events.
        last_seq = min(last_seq, current)
        if current > 0 and (last_seq == 0 or current - last_seq > FULL_REPLAY_EVENTS):
            if self.full_replays:
                raise protocol.ProtocolError(
                    _(
                        "This connection has already replayed the whole room: join with the "
                        "last event you received, or reconnect."
                    ),
                    field="last_seq",
                    code="replay_limit",
                )
            self.full_replays += 1
        self.joined = False
        self.last_seq = last_seq
        await self._catch_up()
        if not self.counted and self.user_id is not None and self.hub is not None:
            # Counted once joined (a socket that only connects is nobody), before the count
            # it is told, so a person sees themselves among the people here.
            self.counted = True
            await hubs.person_arrived(self.room_id, self.user_id)
        await self.send_json(
            {
                "type": "joined",
                "last_seq": self.last_seq,
                "count": await presence_count(self.room_id),
            }
        )

    async def _catch_up_later(self) -> None:
        """The catch-up a gap in live events starts. While the database is unreachable it
        fails quietly: the next event, or the hub's check of the log every 2 seconds, finds
        the same gap and tries again."""
        try:
            await self._catch_up()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            logger.warning("Room %s: catching up met a database outage: %s", self.room_id, exc)

    async def _catch_up(self) -> None:
        """Send what the log holds after ``last_seq``; live events wait meanwhile (the hub
        skips this connection), and a gap they leave is found at the next event."""
        self.catching_up = True
        try:
            while True:
                logged = await database_sync_to_async(missed)(self.room_id, self.last_seq)
                for seq, text in logged:
                    await self.send(text_data=text)
                    self.last_seq = seq
                if self.hub is None or self.hub.delivered <= self.last_seq:
                    break
        finally:
            self.catching_up = False
        self.joined = True

    def deliver(self, first: int, last: int, text: str, run: list[tuple[int, str]]) -> None:
        """Called by the hub with each run of live events ``first``..``last`` (``text`` is the
        frame for all of them; ``run`` the single frames, for a connection that has some)."""
        if not self.joined or self.catching_up or last <= self.last_seq:
            return
        if first > self.last_seq + 1:
            # Missed some (out-of-order arrival, a layer outage): read them, and this one,
            # from the log in the connection's own task so the hub does not wait.
            self.catching_up = True
            hubs.spawn(self._catch_up_later())
            return
        if first <= self.last_seq:  # joined during this run: send only what it lacks
            texts = [t for seq, t in run if seq > self.last_seq]
            text = texts[0] if len(texts) == 1 else batch_text(texts)
        self.last_seq = last
        self.push(text)

    async def close_quietly(self) -> None:
        """Close a connection the hub could not write to (usually already gone)."""
        with contextlib.suppress(Exception):
            await self.close()

    def deliver_presence(self, text: str) -> None:
        if self.joined:
            self.push(text)


async def _carry_on(write: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    """Run a coroutine that was started by hand (``push``) and is waiting for the future it
    yielded, to its end, as a task would have."""
    try:
        while True:
            if waiting_for is None:  # a bare yield: give the loop a turn
                await asyncio.sleep(0)
            else:
                await asyncio.wait((waiting_for,))
            waiting_for = write.send(None)
    except StopIteration:
        return
    finally:
        write.close()
