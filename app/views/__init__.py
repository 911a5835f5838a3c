"""Qt widgets of the annotation app."""
