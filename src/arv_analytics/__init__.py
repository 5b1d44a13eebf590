"""ARV Analytics: self-hosted analytics for image-tracked web AR content."""

__version__ = "0.1.0"
