"""affect_book: the companion package of the affect book.

Why do rare facial expressions fail in the wild: class imbalance, or the geometry of affect? Each module is
introduced by a chapter of the book (see the API reference). Importing the package has no side effects.
"""

__all__: list[str] = []  # the API lives in the modules (see the API reference); nothing is imported here

__version__ = "0.1.0"
