"""Figures: the leaders' dashboard figures (dashboard) and the stations' assessment (assessment)."""
