"""The Gradio app: one module per tab, their shared widgets, and build_app joining them."""
