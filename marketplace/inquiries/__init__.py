"""Buyer inquiries, requests for quotation, quotes, message threads and notifications (issue 4).

Modules: models · services (profiles, inquiries, RFQs, quotes and their state machines) ·
messaging (threads, messages, attachments, unread counts) · notifications (in-app + e-mail) ·
leads (which producers fit an RFQ: the one function matching replaces) · responsiveness ·
moderation (reports, hiding, suspending) · views (blueprint "inquiries") · cli.
"""
