"""Matching (issue 5): pair a buyer's need with OCOP suppliers and approved sales points.

Modules: need (a need and what its text says) · scorer (pure, typed: constraints, factors,
weights, reasons) · retrieval (`candidates(need)`, the one swap point for candidate recall) ·
reasons (Vietnamese sentences) · services (`build_need`, `match`, `fitting_producers_for_need`,
the responsiveness hook) · forms, views (blueprint "matching": the page "Tìm nhà cung cấp").
The JSON route POST /api/v1/match lives in marketplace/api/match.py. See docs/matching.md.
"""
