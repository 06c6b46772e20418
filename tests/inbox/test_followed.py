"""The followed-actors cache belongs to the application's receiver and is forgotten when a
follow changes in the process (it was a module global, filled by whoever imported it)."""

from __future__ import annotations

from federation.db.social import Following, FollowState
from federation.inbox.followed import FollowedActors
from federation.web.state import INBOX

from .conftest import HALTE

SISTER = "https://sister.example/actors/site"


async def test_each_receiver_has_its_cache_forgotten_on_follow(bridge):
    """A follow saved through the ORM is seen at once, although the cache's ttl is long."""
    followed = bridge.app[INBOX].services.followed
    assert isinstance(followed, FollowedActors)
    followed._ttl = 3600.0
    assert not await followed.may_follow(SISTER)
    actor = bridge.directory.get("halte-au-controle-numerique")
    row = await Following.create(actor_id=actor.db_id, target_uri=SISTER,
                                 follow_activity_uri=f"{HALTE}#follow/1",
                                 state=FollowState.ACCEPTED)
    assert await followed.may_follow(SISTER)
    await row.delete()
    assert not await followed.may_follow(SISTER)

