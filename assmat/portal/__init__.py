"""The assistant's space: children, messages, agrément (seed 001 §2)."""
