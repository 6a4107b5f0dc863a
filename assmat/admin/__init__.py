"""The console chassis (SQLAdmin) and the views that belong to no feature."""
