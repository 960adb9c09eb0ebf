"""voxcap's desktop app (PySide6): caption overlay, transcript window, settings, model manager.

The only package that imports Qt. It talks to the rest of ``app`` through plain dataclasses; the
one place where worker threads meet the GUI is :mod:`app.ui.bridge`.
"""
