"""Backups (issue 11): one archive with the database, the uploads and a manifest.

`flask backup create | restore | verify | list` (cli.py); the work is in services.py.
"""
