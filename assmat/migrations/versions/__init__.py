"""Revisions: each freezes the types and rules it applies, so it never imports the application."""
