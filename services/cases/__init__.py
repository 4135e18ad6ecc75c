"""Cases: intake and routing, the MOVES table (ladder), the one state change (case_state),
the one writer (workflow) and the read side (case_queries)."""
