"""The task force's instruments: risk notices and supervision orders, coordination meetings,
work bulletins."""
