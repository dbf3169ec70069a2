"""Bundled Jinja prompt templates (`<language>/<phase>.j2`); see `verifier/prompting.py`. Not code."""
