"""The visionplay app, as a script: ``python demos/app.py`` is ``visionplay serve``."""

from visionplay.app import build_app

demo = build_app()

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=2).launch(server_name="127.0.0.1")
