"""Producers' bank accounts and VietQR bank-transfer codes (EMVCo, NAPAS 24/7)."""
