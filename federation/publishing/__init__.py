"""Site content in, ActivityPub objects and activities out (see service.Publisher)."""
