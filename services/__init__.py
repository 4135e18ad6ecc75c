"""Domain logic. No streamlit import here: services take an Actor and a Session."""
