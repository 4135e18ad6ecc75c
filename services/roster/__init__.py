"""People and places: the organisation, the mediators' roster (母舅名册) and who is on duty."""
