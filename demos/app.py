"""The visionplay app, as a script: ``python demos/app.py`` serves the tabs alone (no REST
routes) on http://127.0.0.1:7860/; ``visionplay serve`` is the full server."""

from visionplay.serve.rest import MAX_BODY
from visionplay.serve.uploads import gradio_app_kwargs
from visionplay.ui.app import build_app, queued

demo = build_app()

if __name__ == "__main__":
    queued(demo).launch(
        server_name="127.0.0.1",
        max_file_size=MAX_BODY,
        app_kwargs=gradio_app_kwargs(demo, MAX_BODY),  # only this app's uploads as file inputs
    )
