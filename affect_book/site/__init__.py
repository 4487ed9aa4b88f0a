"""The book machinery: what runs the chapters and builds the site, as opposed to the science the chapters teach.

- :mod:`~affect_book.site.book`: the runner (``python -m affect_book.site.book``, also ``affect-book book``):
  executes the chapters in ``_toc.yml`` order with papermill and builds the HTML site;
- :mod:`~affect_book.site.course`: the exercise convention, student copies (``python -m affect_book.site.course``),
  the HTML copies' cell tags, and the Sphinx extension named in ``_config.yml``;
- :mod:`~affect_book.site.toc`: the book's root and the chapters that ``_toc.yml`` lists;
- :mod:`~affect_book.site.outputs`: the runner's output folders (it overwrites only the files it wrote);
- :mod:`~affect_book.site.timings`: the chapters' measured run times (``python -m affect_book.site.timings``);
- :mod:`~affect_book.site.mathjax`: the site's offline math renderer;
- :mod:`~affect_book.site.widgets`: the chapters' interactive figures (ipywidgets, with a static fallback);
- :mod:`~affect_book.site.figures`: static figures the chapters share (a grid of faces).

It sits on top of the science modules and may import any of them (the runner reads the profiles and the interrupt
handling; the widgets draw with the simulator and the costs); no science module imports it. Nothing is imported
here: each module is loaded on its own (the widgets pull in matplotlib, the runner papermill).
"""

__all__: list[str] = []
