"""Plain HTTP routes served next to the Streamlit UI (public dispute-code page, health)."""
