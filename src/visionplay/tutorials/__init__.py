"""The lessons and experiments of the five tutorials the project follows ("seed 000" to
"seed 004", see docs/tutorials.md): ``lessons`` (the Learn tab's edge kernel and fitted
line), ``experiments`` (FC2 vs CNN-small on permuted pixels) and ``explorer`` (the Learn
tab's layer tables and ONNX opsets)."""
