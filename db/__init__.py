"""Database layer: engine, session factory, models."""
