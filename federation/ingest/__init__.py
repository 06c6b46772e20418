"""What comes in: push API payloads, polled feeds (RSS, Atom, JSON Feed) and iCalendar."""
