"""paperbot: posts daily arXiv paper digests to Slack and Discord."""

__version__ = "0.1.0"
