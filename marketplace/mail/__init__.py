"""Outgoing mail outbox: services queue messages, a sender delivers them (SMTP or files)."""
