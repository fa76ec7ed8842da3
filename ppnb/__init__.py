"""ppnb: receivables kept in PayPal Invoicing v2, worked on from Jupyter."""

__version__ = "0.1.0"

__all__ = ["__version__"]
