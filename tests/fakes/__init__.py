"""Fake Slack, Discord and arXiv servers and a fake clock for tests, all bound to 127.0.0.1."""
