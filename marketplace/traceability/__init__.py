"""Traceability: product batches, QR codes and public trace pages (issue 9)."""
