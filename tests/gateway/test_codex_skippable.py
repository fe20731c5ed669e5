"""Which codex lines may be dropped unparsed (runtimes/codex_skippable.py), and when the
gateway says a notification is unwanted (`RuntimeEvents.wants_notification`): only listed
notifications written as `{"method":"<name>",...}`, never a request that starts the same
way, and never while some socket could get one of the notification's events."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.fanout import Subscriber
from teammesh.gateway.runtimes.codex_skippable import skippable_method


@pytest.mark.parametrize(("line", "method"), [
    (b'{"method":"warning","params":{"message":"x"}}', "warning"),
    (b'{"method":"thread/status/changed","params":{}}', "thread/status/changed"),
    # A server request written method-first (codex writes item/tool/call so): parsed.
    (b'{"method":"item/tool/call","id":2,"params":{}}', None),
    # A listed name with an id (a request, wherever the id is, however spelled): parsed,
    # never dropped, or codex would wait for an answer forever.
    (b'{"method":"warning","id":2,"params":{}}', None),
    (b'{"method":"thread/status/changed","params":{},"id":"r-1"}', None),
    (b'{"method":"warning","params":{}, "id" :0}', None),
    (b'{"method":"warning","params":{},"\\u0069d":7}', None),
    # State-changing notifications are always parsed.
    (b'{"method":"item/completed","params":{}}', None),
    (b'{"method":"turn/completed","params":{}}', None),
    # Another spelling, an escape in the name, a truncated line: parsed as before.
    (b'{"id":1,"method":"warning","params":{}}', None),
    (b'{ "method":"warning","params":{}}', None),
    (b'{"method":"warn\\"ing","params":{}}', None),
    (b'{"method":"warning"}', None),
    (b'{"method":"warning', None),
])
def test_only_listed_notifications_are_recognised(line: bytes, method: str | None) -> None:
    assert skippable_method(line) == method


@pytest.mark.anyio
async def test_a_notification_is_unwanted_only_while_no_socket_could_get_its_events(
    tmp_path: Path,
) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        fanout, events = gateway.hub.fanout, gateway.hub.events
        assert not events.wants_notification("account/rateLimits/updated")  # no socket
        runner = Subscriber(event_types=frozenset({"app_server.request.item.tool.call"}))
        fanout.subscribe(runner)
        assert not events.wants_notification("account/rateLimits/updated")
        # Its typed event, its alias or the generic `notification`: each makes it wanted.
        for wanted in ("app_server.account.rate_limits.updated",
                       "account_rate_limits_updated", "notification"):
            watcher = Subscriber(event_types=frozenset({wanted}))
            fanout.subscribe(watcher)
            assert events.wants_notification("account/rateLimits/updated"), wanted
            fanout.unsubscribe(watcher)
        assert not events.wants_notification("account/rateLimits/updated")
        # Every notification the session state reads is wanted with no socket for it.
        for method in ("turn/started", "item/started", "item/agentMessage/delta",
                       "item/completed", "turn/completed"):
            assert events.wants_notification(method), method
        # A socket scoped to another thread, not narrowed: wanted (the check is made
        # before the line's thread is known).
        fanout.subscribe(Subscriber(thread_filter="some-other-thread"))
        assert events.wants_notification("warning")
