"""Model-card templates (Jinja), one per family."""
