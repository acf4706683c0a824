"""Organisers' dashboard: certificate review, audit log, reminders, statistics and exports."""
