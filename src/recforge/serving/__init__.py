"""Serving trained models over HTTP: the model store and the FastAPI app."""
