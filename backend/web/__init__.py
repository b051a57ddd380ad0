"""Helpers every app's web pages (views) share: the page decorator, the client address,
sign-in throttling. Below the apps' views, above nothing but Django and backend.config."""
