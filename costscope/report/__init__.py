"""Rendering an Analysis: the HTML report, the terminal summary and the JSON document."""
