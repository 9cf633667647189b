"""Serve: what comes back over HTTP, the one-click unsubscribe endpoint (`pressdist serve`).

Imports the layers below it; Starlette and uvicorn are an optional extra
(`pip install 'pressdist[serve]'`) and only this package imports them.
"""
