"""Thin AWS gateways: one module per service family, no UI, no SQL."""
